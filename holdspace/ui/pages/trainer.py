"""Trainees (trainers only): add trainee accounts, see each trainee's sessions and open their reports; build
scenario sets from the library, assign them with due dates, and follow each trainee's progress."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from holdspace.services import accounts, assignments, catalogue, sessions_service
from holdspace.services.accounts import UserInfo
from holdspace.services.assignments import AssignmentError, AssignmentInfo
from holdspace.storage import utcnow
from holdspace.ui.common import esc, flash, go, require_user, run_page, show_flash, status_label, when


def render() -> None:
    user = require_user()
    if not user.is_trainer:
        st.error("This page is for trainers.")
        return
    st.title("Trainees")
    show_flash()
    trainees = accounts.list_users("trainee")
    people, sets, progress = st.tabs(["Trainees", "Scenario sets", "Assignments"])
    with people:
        _add_form()
        _trainee_list(trainees)
    with sets:
        _create_set_form(user)
        _set_list()
    with progress:
        _assign_form(user, trainees)
        _progress_table()


def _trainee_list(trainees: list[UserInfo]) -> None:
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


# ------------------------------------------------------------------------------------------ scenario sets
def _scenario_titles() -> dict[str, str]:
    """Scenario id -> the title shown in pickers (the id added where two titles are the same)."""
    cards = catalogue.scenario_cards()
    seen = [c.title for c in cards]
    return {c.id: c.title if seen.count(c.title) == 1 else f"{c.title} ({c.id})" for c in cards}


def _create_set_form(user: UserInfo) -> None:
    titles = _scenario_titles()
    with st.form("create_set", clear_on_submit=False):
        st.subheader("Create a scenario set")
        name = st.text_input("Set name", max_chars=assignments.NAME_MAX, placeholder="e.g. Week 1: opening a group")
        description = st.text_area(
            "Description (optional)",
            max_chars=assignments.DESCRIPTION_MAX,
            placeholder="What this set practises, shown to trainees with the assignment",
        )
        chosen = st.multiselect(
            "Scenarios, in the order to practise them",
            list(titles),
            format_func=lambda sid: titles.get(sid, sid),
            placeholder="Choose scenarios from the library",
        )
        submitted = st.form_submit_button("Create the set", type="primary")
    if submitted:
        try:
            created = assignments.create_set(name, chosen, description, created_by=user.id)
        except AssignmentError as exc:
            st.error(str(exc))
            return
        flash(f"Created the set “{created.name}” with {len(created.scenario_ids)} scenarios.")
        st.rerun()


def _set_list() -> None:
    sets = assignments.list_sets()
    titles = _scenario_titles()
    st.subheader(f"Scenario sets ({len(sets)})")
    if not sets:
        st.caption("No sets yet. Create one above, or with `holdspace sets add NAME --scenario ID ...`.")
        return
    for scenario_set in sets:
        with st.container(border=True):
            st.markdown(f"**{esc(scenario_set.name)}** · {len(scenario_set.scenario_ids)} scenarios")
            if scenario_set.description:
                st.caption(esc(scenario_set.description))
            for number, scenario_id in enumerate(scenario_set.scenario_ids, start=1):
                st.markdown(f"{number}\\. {esc(titles.get(scenario_id, scenario_id + ' (no longer in the library)'))}")


# ------------------------------------------------------------------------------------------ assignments
def _assign_form(user: UserInfo, trainees: list[UserInfo]) -> None:
    st.subheader("Assign a set")
    sets = assignments.list_sets()
    if not sets or not trainees:
        st.caption("Create a scenario set (on the Scenario sets tab) and add trainees first; then assign sets here.")
        return
    set_names = {s.id: s.name for s in sets}
    people = {t.id: f"{t.label} ({t.username})" for t in trainees}
    with st.form("assign_set", clear_on_submit=False):
        set_id = st.selectbox("Scenario set", list(set_names), format_func=lambda i: set_names.get(i, str(i)))
        chosen = st.multiselect(
            "Trainees", list(people), format_func=lambda i: people.get(i, str(i)), placeholder="Choose trainees"
        )
        due = st.date_input(
            "Due date (optional)",
            value=None,
            min_value=utcnow().date(),
            help="Leave empty for no due date. Assigning a set again changes its due date.",
        )
        submitted = st.form_submit_button("Assign", type="primary")
    if submitted:
        if not chosen:
            st.error("Choose at least one trainee.")
            return
        try:
            for trainee_id in chosen:
                assignments.assign_set(int(set_id), int(trainee_id), due, assigned_by=user.id)
        except AssignmentError as exc:
            st.error(str(exc))
            return
        names = ", ".join(people[t] for t in chosen)
        when_due = f", due {due.isoformat()}" if due else ", no due date"
        flash(f"Assigned “{set_names[set_id]}” to {names}{when_due}.")
        st.rerun()


def progress_frame(rows: list[AssignmentInfo]) -> pd.DataFrame:
    """One row per assignment: who, which set, when due, how far, and each scenario's state."""
    return pd.DataFrame(
        {
            "Trainee": [f"{a.trainee_label} ({a.trainee_username})" for a in rows],
            "Set": [a.set_name for a in rows],
            "Due": [a.due_date.isoformat() if a.due_date else "—" for a in rows],
            "Status": [a.status for a in rows],
            "Done": [f"{a.done} of {a.total}" for a in rows],
            "Progress": [a.done / a.total if a.total else 0.0 for a in rows],
            "Scenarios": ["; ".join(f"{i.title}: {i.label}" for i in a.items) for a in rows],
        }
    )


def _progress_table() -> None:
    rows = assignments.all_assignments()
    st.subheader("Progress")
    if not rows:
        st.caption("Nothing assigned yet.")
        return
    overdue = sum(1 for a in rows if a.overdue)
    complete = sum(1 for a in rows if a.complete)
    st.caption(f"{len(rows)} assignments · {complete} complete · {overdue} overdue")
    st.dataframe(
        progress_frame(rows),
        hide_index=True,
        column_config={
            "Progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0, format="percent")
        },
    )
    labels = {a.id: f"{a.trainee_username} · {a.set_name}" for a in rows}
    by_id = {a.id: a for a in rows}
    with st.form("unassign", clear_on_submit=False):
        chosen = st.selectbox("Remove an assignment", list(labels), format_func=lambda i: labels.get(i, str(i)))
        removed = st.form_submit_button("Remove the assignment", help="The trainee's sessions are kept.")
    if removed and chosen in by_id:
        target = by_id[chosen]
        assignments.unassign(target.set_id, target.trainee_id)
        flash(f"Removed “{target.set_name}” from {target.trainee_username}.")
        st.rerun()


if __name__ == "__main__":
    run_page(render)
