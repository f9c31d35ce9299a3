"""The session report: rubric scores, the group's trajectory, objectives, key moments, and every turn of
the transcript with the trainee's replies annotated (moves, scores, feedback, a better alternative, guide
passages). Notes on any turn, and exports as Markdown, PDF and JSON."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from holdspace.content import get_library
from holdspace.services import exports, sessions_service
from holdspace.services.accounts import UserInfo
from holdspace.services.reports import (
    Report,
    ReviewItem,
    build_report,
    dimension_label,
    dimension_title,
    interrupt_cue,
    profile_text,
)
from holdspace.services.sessions_service import TranscriptEntry
from holdspace.ui.common import (
    SESSION_PARAM,
    chat_record,
    esc,
    flash,
    go,
    member_styles,
    require_user,
    run_page,
    session_param,
    show_flash,
    status_label,
    when,
)


def render() -> None:
    user = require_user()
    session_id = session_param() or st.session_state.get("report_session_id")
    if session_id is None:
        latest = sessions_service.latest_session(user.id)
        if latest is None:
            st.title("Session report")
            st.info("No sessions yet. Practise a scenario and its report appears here.")
            return
        session_id = latest.id
    st.session_state["report_session_id"] = session_id
    if st.query_params.get(SESSION_PARAM) != str(session_id):
        st.query_params[SESSION_PARAM] = str(session_id)
    report = build_report(int(session_id), user)
    info = report.info
    personas = _personas(report)
    member_styles(personas)

    st.title(f"Report: {info.scenario_title}")
    show_flash()
    owner = "" if info.user_id == user.id else f"{esc(info.username)} · "
    st.caption(f"{owner}{when(info.started_at)} · {status_label(info.status)} · {info.turns_taken} replies")
    if not info.finished:
        st.warning("This session is not finished; the report shows the scores so far.")
        if info.user_id == user.id and st.button("Resume this session"):
            go("practice", s=info.id)
    elif info.end_message:
        st.info(esc(info.end_message))

    _overview(report)
    _review(report)
    st.header("Transcript")
    st.caption("Your replies carry the moves detected, the scores, feedback and the guide passages behind it.")
    records = report.transcript.records
    crosstalk = bool(report.scenario and report.scenario.crosstalk)
    for index, entry in enumerate(report.transcript.entries):
        _entry(entry, personas, interrupt_cue(records, index, crosstalk))
    if info.user_id == user.id:
        _note_form(report, user)
    _exports(report)


def _personas(report: Report) -> dict[str, Any]:
    if report.scenario is None:
        return {}
    try:
        return get_library().personas_for(report.scenario)
    except KeyError:
        return {}


def _overview(report: Report) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Rubric scores")
        if report.dimension_scores:
            frame = pd.DataFrame(
                {"mean score (1–5)": list(report.dimension_scores.values())},
                index=[dimension_label(d) for d in report.dimension_scores],
            )
            st.bar_chart(frame, horizontal=True, height=60 + 32 * len(frame))
            overall = report.summary.get("overall")
            summary = ", ".join(f"{dimension_title(d)} {v:.1f}" for d, v in report.dimension_scores.items())
            st.caption(f"Overall {overall:.2f}. {summary}." if overall is not None else summary)
        else:
            st.caption("No scores were recorded for this session.")
        st.subheader("Objectives")
        if not report.objectives:
            st.caption("This scenario lists no objectives.")
        for objective in report.objectives:
            mark = "✅ met" if objective.met else ("❌ not met" if objective.met is not None else "… not assessed yet")
            st.markdown(f"{mark} — {esc(objective.description)}")
    with right:
        st.subheader("The group over the turns")
        if len(report.trajectory) > 1:
            frame = pd.DataFrame(report.trajectory).set_index("turn")
            st.line_chart(frame[["tension", "engagement", "safety"]], height=220)
            last = report.trajectory[-1]
            st.caption(
                f"At the end: tension {last['tension']:.2f}, engagement {last['engagement']:.2f}, "
                f"safety {last['safety']:.2f}."
            )
        st.subheader("Airtime per member")
        if report.airtime:
            total = sum(report.airtime.values()) or 1
            frame = pd.DataFrame({"words": list(report.airtime.values())}, index=list(report.airtime.keys()))
            st.bar_chart(frame, horizontal=True, height=40 + 35 * len(frame))
            st.caption(" · ".join(f"{esc(n)} {w} words ({w / total:.0%})" for n, w in report.airtime.items()))
        outcome = report.outcome
        if outcome.get("participation_evenness") is not None:
            st.caption(
                f"Participation evenness {outcome['participation_evenness']:.2f} · your share of the talk "
                f"{outcome.get('facilitator_talk_ratio', 0):.0%}"
            )


def _items(title: str, items: list[ReviewItem], empty: str) -> None:
    st.subheader(title)
    if not items:
        st.caption(empty)
    for item in items:
        prefix = f"Turn {item.turn}: " if item.turn is not None else ""
        st.markdown(f"- {esc(prefix + item.text)}")
        if item.citation:
            where = " › ".join(esc(x) for x in (item.citation.get("title"), item.citation.get("section")) if x)
            st.caption(f"Guide: {where} — {esc(item.citation.get('excerpt', ''))}")


def _review(report: Report) -> None:
    cols = st.columns(3, gap="large")
    with cols[0]:
        _items("Strengths", report.review.strengths, "Nothing stood out yet.")
    with cols[1]:
        _items("Growth areas", report.review.growth_areas, "No growth areas flagged.")
    with cols[2]:
        _items("Key moments", report.review.key_moments, "No key moments recorded.")
    if profile_text(report.review.profile):
        st.caption(profile_text(report.review.profile))


def _entry(entry: TranscriptEntry, personas: dict[str, Any], cue: str | None = None) -> None:
    record = entry.record
    chat_record(record, personas, cue=cue)
    if record.get("role") == "facilitator":
        overall = record.get("overall")
        title = f"Turn {record.get('turn')}: moves, scores and coaching"
        if overall is not None:
            title += f" (overall {overall:.1f})"
        with st.expander(title):
            _annotation(record)
    for note in entry.notes:
        st.caption(f"📝 Your note ({when(note.created_at)})")
        st.text(note.text)


def _annotation(record: dict[str, Any]) -> None:
    moves = record.get("moves") or []
    if moves:
        st.markdown("**Moves detected**")
        for move in moves:
            label = str(move.get("label", "")).replace("_", " ")
            if move.get("depth"):
                label += f" ({move['depth']})"
            evidence = move.get("evidence") or ""
            st.markdown(
                f"- {esc(label)} · confidence {float(move.get('confidence', 0)):.2f}"
                + (f" · “{esc(evidence)}”" if evidence else "")
            )
    else:
        st.caption("No facilitation moves were detected in this reply.")
    scores = {d: v for d, v in (record.get("scores") or {}).items() if v is not None}
    if scores:
        st.markdown("**Scores** (1–5; dimensions this moment made relevant)")
        st.dataframe(
            pd.DataFrame({"dimension": [dimension_title(d) for d in scores], "score": list(scores.values())}),
            hide_index=True,
            width="content",
        )
    if record.get("feedback"):
        st.markdown(f"**Feedback:** {esc(record['feedback'])}")
    if record.get("alternative"):
        st.markdown(f"**A better alternative:** {esc(record['alternative'])}")
    for citation in record.get("citations") or []:
        where = " › ".join(esc(x) for x in (citation.get("title"), citation.get("section")) if x)
        st.caption(f"Guide: {where} — {esc(citation.get('excerpt', ''))}")


def _turn_label(entry: TranscriptEntry) -> str:
    record = entry.record
    who = "You" if record.get("role") == "facilitator" else str(record.get("speaker", ""))
    text = str(record.get("text", ""))
    short = text if len(text) <= 60 else text[:57] + "…"
    return f"#{entry.idx + 1} · turn {record.get('turn')} · {who}: {short}"


def _note_form(report: Report, user: UserInfo) -> None:
    st.header("Add a note")
    entries = report.transcript.entries
    if not entries:
        return
    labels = {e.turn_id: _turn_label(e) for e in entries}
    default = next((i for i, e in enumerate(entries) if e.record.get("role") == "facilitator"), 0)
    with st.form("note_form", clear_on_submit=True):
        turn_id = st.selectbox("Turn to annotate", list(labels), index=default, format_func=labels.get)
        text = st.text_area(
            "Your note",
            max_chars=sessions_service.NOTE_MAX,
            placeholder="What would you do differently here?",
        )
        submitted = st.form_submit_button("Save the note")
    if submitted:
        sessions_service.add_note(int(turn_id), user.id, text)
        flash("Note saved.")
        st.rerun()


def _exports(report: Report) -> None:
    st.header("Export")
    st.caption("The transcript with its scores, feedback and your notes.")
    cols = st.columns(3)
    cols[0].download_button(
        "Markdown",
        exports.to_markdown(report).encode("utf-8"),
        file_name=exports.export_name(report, "md"),
        mime="text/markdown",
        icon=":material/description:",
        on_click="ignore",
        key="export_md",
    )
    cols[1].download_button(
        "PDF",
        exports.to_pdf(report),
        file_name=exports.export_name(report, "pdf"),
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        key="export_pdf",
    )
    cols[2].download_button(
        "JSON",
        exports.to_json(report),
        file_name=exports.export_name(report, "json"),
        mime="application/json",
        icon=":material/data_object:",
        on_click="ignore",
        key="export_json",
    )


if __name__ == "__main__":
    run_page(render)
