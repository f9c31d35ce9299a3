"""History: the trainee's sessions with their scores over time; open any transcript (its report, where
notes and exports live) or resume one that is not finished."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from holdspace.content import DIMENSIONS
from holdspace.services import sessions_service
from holdspace.services.reports import dimension_label
from holdspace.ui.common import esc, go, require_user, run_page, show_flash, status_label, when


def render() -> None:
    user = require_user()
    st.title("History")
    show_flash()
    sessions = sessions_service.list_sessions(user.id)
    if not sessions:
        st.info("No sessions yet. Practise a scenario from Home and it appears here.")
        return
    scored = [s for s in sessions if s.overall is not None]
    if scored:
        st.subheader("Scores over time")
        if len(scored) >= 2:
            frame = pd.DataFrame(
                {"overall": [s.overall for s in scored]},
                index=pd.Index(range(1, len(scored) + 1), name="session"),
            )
            dims = [d for d in DIMENSIONS if any(s.scores.get(d) is not None for s in scored)]
            for dim in dims:
                frame[dimension_label(dim)] = [s.scores.get(dim) for s in scored]
            st.line_chart(frame, height=260)
        st.caption(
            "Overall per session (1–5): "
            + " · ".join(f"{n}. {when(s.started_at)} {s.overall:.2f}" for n, s in enumerate(scored, start=1))
        )
    st.subheader("Sessions")
    for info in reversed(sessions):
        with st.container(border=True):
            cols = st.columns([5, 1, 1])
            overall = f"overall {info.overall:.2f}" if info.overall is not None else "not scored"
            cols[0].markdown(
                f"**{esc(info.scenario_title)}**  \n{when(info.started_at)} · "
                f"{status_label(info.status)} · {info.turns_taken} replies · {overall}"
            )
            if cols[1].button(
                "Open",
                key=f"open_{info.id}",
                help=f"Open the transcript and report of {info.scenario_title} from {when(info.started_at)}",
            ):
                go("report", s=info.id)
            if not info.finished and cols[2].button(
                "Resume", key=f"resume_{info.id}", help=f"Resume {info.scenario_title}"
            ):
                go("practice", s=info.id)


if __name__ == "__main__":
    run_page(render)
