"""The session in play for this browser tab, kept in `st.session_state`; rebuilt from storage when the
tab is new (a reload, another device) or when a round was interrupted."""

from __future__ import annotations

import streamlit as st

from holdspace.services import sessions_service
from holdspace.services.sessions_service import LiveSession

KEY = "live_session"
CURRENT = "current_session_id"


def start(user_id: int, scenario_id: str, assignment_id: int | None = None) -> LiveSession:
    live = sessions_service.start_session(user_id, scenario_id, assignment_id=assignment_id)
    st.session_state[KEY] = live
    st.session_state[CURRENT] = live.id
    return live


def get(session_id: int, user_id: int) -> LiveSession:
    live = st.session_state.get(KEY)
    if isinstance(live, LiveSession) and live.id == session_id and live.user_id == user_id and not live.broken:
        return live
    with st.spinner("Bringing the group back…"):
        live = sessions_service.resume_session(session_id, user_id)
    st.session_state[KEY] = live
    st.session_state[CURRENT] = live.id
    return live


def current_id() -> int | None:
    value = st.session_state.get(CURRENT)
    return value if isinstance(value, int) else None


def drop() -> None:
    st.session_state.pop(KEY, None)
