"""Home: continue a session, work through assigned scenario sets, and pick a scenario from the library
after its briefing. An assigned scenario starts through the same briefing (and content-note consent) as the
library's, and its session is linked to the assignment."""

from __future__ import annotations

import streamlit as st

from holdspace.services import assignments, catalogue, sessions_service
from holdspace.services.assignments import AssignmentInfo, ScenarioProgress
from holdspace.services.catalogue import ScenarioCard
from holdspace.ui.common import esc, go, require_user, run_page, show_flash, status_label, when
from holdspace.ui.live import start

FACET_LABELS = {
    "group_type": "Group type",
    "challenge": "Challenge",
    "stage": "Stage",
    "difficulty": "Difficulty",
}


def render() -> None:
    user = require_user()
    st.title("Practice library")
    show_flash()
    _continue_section(user.id)
    cards = catalogue.scenario_cards()
    if not user.is_trainer:
        _assignments_section(user.id, {card.id: card for card in cards})

    if not cards:
        st.warning(
            "The scenario library is empty. Scenarios live in the `scenarios/` folder; run "
            "`holdspace validate` to see why none loaded."
        )
        return
    facets = catalogue.facet_values(cards)
    columns = st.columns(len(catalogue.FACETS))
    chosen: dict[str, list[str]] = {}
    for column, facet in zip(columns, catalogue.FACETS, strict=True):
        chosen[facet] = column.multiselect(FACET_LABELS[facet], facets[facet], key=f"filter_{facet}", placeholder="Any")
    shown = catalogue.filter_cards(cards, chosen)
    st.caption(f"{len(shown)} of {len(cards)} scenarios")
    for card in shown:
        _scenario(card, user.id)


def _continue_section(user_id: int) -> None:
    unfinished = [s for s in sessions_service.list_sessions(user_id) if not s.finished]
    if not unfinished:
        return
    st.subheader("Continue where you left off")
    for info in sorted(unfinished, key=lambda s: s.updated_at, reverse=True)[:5]:
        cols = st.columns([5, 1])
        cols[0].markdown(
            f"**{esc(info.scenario_title)}** · turn {info.turns_taken} · {status_label(info.status)}"
            f" · last active {when(info.updated_at)}"
        )
        if cols[1].button("Resume", key=f"resume_{info.id}", help=f"Resume {info.scenario_title}"):
            go("practice", s=info.id)


def _assignments_section(user_id: int, cards: dict[str, ScenarioCard]) -> None:
    mine = assignments.assignments_for(user_id)
    with st.container(border=True):
        st.subheader("Your assignments")
        if not mine:
            st.caption(
                "Nothing assigned to you yet. When your trainer assigns a set of scenarios, it shows up here "
                "with its due date; until then, practise anything in the library below."
            )
            return
        for assignment in sorted(mine, key=lambda a: a.complete):  # open ones first, in due-date order
            _assignment(assignment, user_id, cards)


def _assignment(assignment: AssignmentInfo, user_id: int, cards: dict[str, ScenarioCard]) -> None:
    parts = [f"**{esc(assignment.set_name)}**", f"{assignment.done} of {assignment.total} done"]
    if assignment.due_date is not None:
        parts.append(f"due {assignment.due_date.isoformat()}")
    if assignment.overdue:
        parts.append("⚠️ **overdue**")
    elif assignment.complete:
        parts.append("✅ **complete**")
    st.markdown(" · ".join(parts))
    if assignment.set_description:
        st.caption(esc(assignment.set_description))
    for item in assignment.items:
        _assigned_scenario(assignment, item, user_id, cards.get(item.scenario_id))


PROGRESS_MARKS = {"completed": "✅", "in_progress": "▶️", "not_started": "○"}
OPEN_BRIEFING = "assigned_briefing"


def _assigned_scenario(
    assignment: AssignmentInfo, item: ScenarioProgress, user_id: int, card: ScenarioCard | None
) -> None:
    cols = st.columns([5, 1])
    label = item.label
    if item.state == "not_started" and item.attempts:
        label += f" (tried {item.attempts}×, not finished)"
    cols[0].markdown(f"{PROGRESS_MARKS[item.state]} {esc(item.title)} — {esc(label)}")
    key = f"{assignment.id}_{item.scenario_id}"
    if item.state == "in_progress" and item.session_id is not None:
        if cols[1].button("Continue", key=f"continue_{key}", help=f"Continue {item.title}"):
            go("practice", s=item.session_id)
    elif item.state == "completed" and item.session_id is not None:
        if cols[1].button("Report", key=f"areport_{key}", help=f"Open your report for {item.title}"):
            go("report", s=item.session_id)
    elif card is None:
        cols[1].button("Start", key=f"astart_{key}", disabled=True, help="This scenario is no longer in the library.")
    elif cols[1].button("Start", key=f"astart_{key}", help=f"Read the briefing of {item.title} and start it"):
        st.session_state[OPEN_BRIEFING] = key
    if card is not None and item.state == "not_started" and st.session_state.get(OPEN_BRIEFING) == key:
        # The library's own briefing and start path, for this assignment.
        _scenario(card, user_id, assignment_id=assignment.id, key_prefix=f"a{assignment.id}_", expanded=True)
        if st.button("Close the briefing", key=f"close_{key}"):
            st.session_state.pop(OPEN_BRIEFING, None)
            st.rerun()


def _scenario(
    card: ScenarioCard,
    user_id: int,
    *,
    assignment_id: int | None = None,
    key_prefix: str = "",
    expanded: bool = False,
) -> None:
    with st.container(border=True):
        st.subheader(card.title)
        st.caption(
            " · ".join(esc(x) for x in (card.group_type, card.challenge, card.stage, card.difficulty))
            + f" · up to {card.max_turns} replies"
        )
        with st.expander("Briefing: the group, its members and the objectives", expanded=expanded):
            st.markdown(card.briefing)
            st.markdown("**Members**")
            for member in card.members:
                st.markdown(f"{esc(member.avatar)} **{esc(member.name)}** — {esc(member.summary)}")
            st.markdown("**Objectives**")
            for objective in card.objectives:
                st.markdown(f"- {esc(objective)}")
        ready = True
        if card.content_note:
            st.warning(f"Content note: {esc(card.content_note)}", icon="⚠️")
            ready = st.checkbox(
                "I have read the content note and want to start this scenario",
                key=f"consent_{key_prefix}{card.id}",
            )
        if st.button("Start this scenario", key=f"start_{key_prefix}{card.id}", type="primary", disabled=not ready):
            with st.spinner("Gathering the group…"):
                live = start(user_id, card.id, assignment_id=assignment_id)
            st.session_state.pop(OPEN_BRIEFING, None)
            go("practice", s=live.id)


if __name__ == "__main__":
    run_page(render)
