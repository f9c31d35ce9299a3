"""The practice room: the group as a chat, replies streaming in member by member, an optional coach and
an optional view of the group's dynamics; pause, resume later, end now.

Every record is committed by the sessions service before the event that shows it reaches this page.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd
import streamlit as st

from holdspace.services import coaching, sessions_service
from holdspace.services.reports import interrupt_cue
from holdspace.services.sessions_service import LiveSession, SessionError
from holdspace.ui import live as live_state
from holdspace.ui.common import (
    SESSION_PARAM,
    chat_record,
    cue_caption,
    esc,
    flash,
    go,
    member_styles,
    require_user,
    run_page,
    session_param,
    show_flash,
    speaker_look,
    status_label,
)

log = logging.getLogger("holdspace.ui")

#: a finished line is written out word by word, this fast, so the room reads like people talking
REVEAL_SECONDS_PER_WORD = 0.012
REVEAL_MAX_SECONDS = 0.2


def render() -> None:
    user = require_user()
    session_id = session_param() or live_state.current_id()
    if session_id is None:
        latest = sessions_service.latest_session(user.id, unfinished=True)
        if latest is None:
            st.title("Practice room")
            st.info("No session in progress. Pick a scenario on Home to start one.")
            if st.button("Go to the practice library"):
                go("home")
            return
        session_id = latest.id
    info = sessions_service.get_session(session_id, user)
    if info.user_id != user.id:
        raise SessionError("You can practise in your own sessions only; open this one's report instead.")
    if info.finished:
        st.title(info.scenario_title)
        st.info(f"This session has {status_label(info.status)}. {esc(info.end_message)}")
        if st.button("Open the report", type="primary"):
            go("report", s=session_id)
        return

    live = live_state.get(session_id, user.id)
    if st.query_params.get(SESSION_PARAM) != str(session_id):
        st.query_params[SESSION_PARAM] = str(session_id)
    personas = live.personas
    member_styles(personas)

    st.title(live.scenario.title)
    show_flash()
    progress = _toolbar(live)
    options = st.columns(2)
    show_coach = options[0].toggle("Coach panel", key="show_coach", help="A hint grounded in the guide")
    show_dynamics = options[1].toggle(
        "Group dynamics", key="show_dynamics", help="Tension, engagement and who has spoken how much"
    )
    if show_coach or show_dynamics:
        chat, side = st.columns([3, 2], gap="large")
    else:
        chat, side = st.container(), None

    with chat:
        for notice in dict.fromkeys([*live.notices, *live.engine.notices]):  # each once, in order
            st.warning(esc(notice))
        records = live.records
        for index, record in enumerate(records):
            chat_record(record, personas, cue=interrupt_cue(records, index, live.scenario.crosstalk))
    reply = st.chat_input(
        "Your reply to the group" if not live.ended else "This session has ended",
        key="reply_input",
        max_chars=sessions_service.REPLY_MAX,
        submit_mode="disable",
        disabled=live.ended,
    )
    if reply:
        with chat:
            _play_round(live, reply, personas)
        progress.caption(_progress_text(live))
    if live.ended:
        with chat:
            st.success("The session has ended. Your report is ready.")
            if st.button("Open the report", type="primary", key="open_report"):
                live_state.drop()
                go("report", s=live.id)
    if side is not None:
        with side:
            if show_coach:
                _coach(live)
            if show_dynamics:
                _dynamics(live)


def _progress_text(live: LiveSession) -> str:
    return (
        f"Turn {live.engine.turn} of {live.scenario.max_turns} · {len(live.personas)} members · "
        "every turn is saved as it happens"
    )


def _toolbar(live: LiveSession) -> Any:
    """Pause and End now; returns the placeholder of the turn counter (updated after a round)."""
    scenario = live.scenario
    cols = st.columns([4, 1, 1])
    progress = cols[0].empty()
    progress.caption(_progress_text(live))
    if cols[1].button(
        "Pause",
        key="pause",
        icon=":material/pause:",
        disabled=live.ended,
        help="Stop here and resume later, on any device",
    ):
        live.pause()
        live_state.drop()
        st.session_state.pop(live_state.CURRENT, None)
        flash(f"Paused “{scenario.title}”. Resume it here or from History, on any device.", "info")
        go("home")
    with cols[2].popover("End now", icon=":material/stop:", disabled=live.ended):
        st.write("End the session now and see the report?")
        if st.button("End and see the report", key="end_now", type="primary"):
            sessions_service.end_session(live.id, live.user_id, live)
            live_state.drop()
            go("report", s=live.id)
    return progress


def _play_round(live: LiveSession, reply: str, personas: dict[str, Any]) -> None:
    placeholder = None
    partial = ""
    try:
        for event in live.send(reply):
            if event.kind == "facilitator" and event.record is not None:
                chat_record(event.record, personas)
            elif event.kind == "typing":
                placeholder = st.empty()
                partial = ""
                name, avatar, label = speaker_look({"role": "member", "speaker": event.speaker}, personas)
                with placeholder.chat_message(name, avatar=avatar):
                    st.markdown(f"**{esc(label)}**")
                    st.caption(f"{esc(label)} is typing…")
            elif event.kind == "delta" and placeholder is not None:
                partial += event.text
                name, avatar, label = speaker_look({"role": "member", "speaker": event.speaker}, personas)
                with placeholder.chat_message(name, avatar=avatar):
                    st.markdown(f"**{esc(label)}**")
                    st.text(partial + " …")
            elif event.kind == "line" and event.record is not None:
                _reveal(placeholder or st.empty(), event.record, personas, _cue(live, event.record))
                placeholder = None
            elif event.kind == "notice":
                st.warning(esc(event.text))
            elif event.kind == "end" and event.record is not None:
                chat_record(event.record, personas)
    except SessionError as exc:
        st.error(str(exc))
        if live.broken:
            live_state.drop()
    except Exception as exc:  # noqa: BLE001 - a failed round is explained, never traced on the page
        log.exception("round failed")
        live_state.drop()
        st.error(
            f"The group could not answer just now ({type(exc).__name__}). Everything said so far is saved; "
            "reload the page to continue."
        )


def _cue(live: LiveSession, record: dict[str, Any]) -> str | None:
    """The cue of a line just produced (it is the newest record, or very near the end)."""
    records = live.records
    for index in range(len(records) - 1, max(-1, len(records) - 4), -1):
        if records[index] is record:
            return interrupt_cue(records, index, live.scenario.crosstalk)
    return None


def _reveal(target: Any, record: dict[str, Any], personas: dict[str, Any], cue: str | None = None) -> None:
    """Replace the typing indicator with the line (and its cue, e.g. "cuts in"), written out quickly word
    by word."""
    name, avatar, label = speaker_look(record, personas)
    text = str(record.get("text", ""))
    words = text.split(" ")
    delay = min(REVEAL_SECONDS_PER_WORD, REVEAL_MAX_SECONDS / max(1, len(words)))
    with target.chat_message(name, avatar=avatar):
        st.markdown(f"**{esc(label)}**")
        cue_caption(st, cue)
        body = st.empty()
        step = max(1, len(words) // 12)
        for end in range(step, len(words), step):
            body.text(" ".join(words[:end]))
            time.sleep(delay * step)
        body.text(text)


def _coach(live: LiveSession) -> None:
    st.subheader("Coach")
    key = f"hint_{live.id}"
    stored = st.session_state.get(key)
    if st.button("Give me a hint", key="hint_button", icon=":material/lightbulb:"):
        with st.spinner("Reading the room and searching the guide…"):
            stored = (live.engine.turn, len(live.records), coaching.coach_hint(live.engine))
        st.session_state[key] = stored
    if stored is None:
        st.caption("Stuck? Ask for a hint: what the room looks like now, and the guide passage for it.")
        return
    turn, count, hint = stored
    if count != len(live.records):
        st.caption(f"This hint is from turn {turn}; ask again for the room as it is now.")
    st.markdown("**What the room looks like**")
    for observation in hint.observations:
        st.markdown(f"- {esc(observation)}")
    if hint.error:
        st.warning(esc(hint.error))
    for citation in hint.citations:
        where = " › ".join(esc(x) for x in (citation.get("title"), citation.get("section")) if x)
        with st.container(border=True):
            st.markdown(f"**From the guide:** {where}")
            st.caption(esc(citation.get("excerpt", "")))


def _dynamics(live: LiveSession) -> None:
    st.subheader("Group dynamics")
    state = live.engine.state
    for label, value in (
        ("Tension", state.tension),
        ("Engagement", state.engagement),
        ("Safety", state.safety),
    ):
        st.progress(min(1.0, max(0.0, value)), text=f"{label}: {value:.2f}")
    airtime = {name: m.airtime for name, m in state.members.items()}
    total = sum(airtime.values()) or 1
    st.markdown("**Who has spoken how much** (words)")
    st.bar_chart(
        pd.DataFrame({"words": list(airtime.values())}, index=list(airtime.keys())),
        horizontal=True,
        height=40 + 35 * len(airtime),
    )
    st.caption(
        " · ".join(f"{esc(n)} {w} ({w / total:.0%})" for n, w in airtime.items()) + f" · you {state.facilitator_words}"
    )
    if len(state.history) > 1:
        st.markdown("**Over the turns**")
        frame = pd.DataFrame(state.history).drop_duplicates("turn", keep="last").set_index("turn")
        st.line_chart(frame[["tension", "engagement", "safety"]], height=180)


if __name__ == "__main__":
    run_page(render)
