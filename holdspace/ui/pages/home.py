"""Home: continue a session, see assignments, and pick a scenario from the library after its briefing."""

from __future__ import annotations

import streamlit as st

from holdspace.services import catalogue, sessions_service
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
    if not user.is_trainer:
        with st.container(border=True):
            st.subheader("Your assignments")
            st.caption(
                "When your trainer assigns scenario sets, they appear here with their due dates. "
                "Until then, practise anything in the library below."
            )

    cards = catalogue.scenario_cards()
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


def _scenario(card: ScenarioCard, user_id: int) -> None:
    with st.container(border=True):
        st.subheader(card.title)
        st.caption(
            " · ".join(esc(x) for x in (card.group_type, card.challenge, card.stage, card.difficulty))
            + f" · up to {card.max_turns} replies"
        )
        with st.expander("Briefing: the group, its members and the objectives", expanded=False):
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
                "I have read the content note and want to start this scenario", key=f"consent_{card.id}"
            )
        if st.button("Start this scenario", key=f"start_{card.id}", type="primary", disabled=not ready):
            with st.spinner("Gathering the group…"):
                live = start(user_id, card.id)
            go("practice", s=live.id)


if __name__ == "__main__":
    run_page(render)
