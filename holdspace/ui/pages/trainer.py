"""Trainees (trainers only): add trainee accounts, see each trainee's sessions and open their reports."""

from __future__ import annotations

import streamlit as st

from holdspace.services import accounts, sessions_service
from holdspace.ui.common import esc, flash, go, require_user, run_page, show_flash, status_label, when


def render() -> None:
    user = require_user()
    if not user.is_trainer:
        st.error("This page is for trainers.")
        return
    st.title("Trainees")
    show_flash()
    _add_form()
    trainees = accounts.list_users("trainee")
    counts = sessions_service.session_counts()
    st.subheader(f"Trainees ({len(trainees)})")
    if not trainees:
        st.caption("No trainees yet. Add one above, or with `holdspace users add USERNAME`.")
        return
    for trainee in trainees:
        total, done, mean = counts.get(trainee.id, (0, 0, None))
        mean_text = f" · mean overall {mean:.2f}" if mean is not None else ""
        with st.expander(f"{trainee.label} ({trainee.username}) · {total} sessions, {done} finished{mean_text}"):
            sessions = sessions_service.list_sessions(trainee.id)
            if not sessions:
                st.caption("No sessions yet.")
            for info in reversed(sessions):
                cols = st.columns([5, 1])
                overall = f"overall {info.overall:.2f}" if info.overall is not None else "not scored"
                cols[0].markdown(
                    f"{esc(info.scenario_title)} · {when(info.started_at)} · {status_label(info.status)} · {overall}"
                )
                if cols[1].button(
                    "Report",
                    key=f"report_{info.id}",
                    help=f"Open {trainee.username}'s report for {info.scenario_title}",
                ):
                    go("report", s=info.id)


def _add_form() -> None:
    with st.form("add_trainee", clear_on_submit=False):
        st.subheader("Add a trainee")
        username = st.text_input("Trainee username", max_chars=32, autocomplete="off")
        display_name = st.text_input("Trainee's name", max_chars=80, autocomplete="off")
        password = st.text_input(
            "Initial password",
            type="password",
            max_chars=accounts.PASSWORD_MAX,
            help=f"At least {accounts.PASSWORD_MIN} characters. Share it with the trainee privately.",
            autocomplete="new-password",
        )
        submitted = st.form_submit_button("Add the trainee", type="primary")
    if submitted:
        try:
            trainee = accounts.add_user(username, password, role="trainee", display_name=display_name)
        except accounts.AccountError as exc:
            st.error(str(exc))
            return
        flash(f"Added {trainee.username}. They can sign in now.")
        st.rerun()


if __name__ == "__main__":
    run_page(render)
