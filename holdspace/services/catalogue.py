"""The practice library as the Home page shows it: facets to filter by, and the briefing of each scenario
(its group, members with avatars and summaries, objectives, content note)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from holdspace.content import Scenario, get_library

FACETS = ("group_type", "challenge", "stage", "difficulty")
_ORDER = {
    "stage": ["forming", "storming", "norming", "performing"],
    "difficulty": ["beginner", "intermediate", "advanced"],
}


@dataclass(frozen=True)
class MemberCard:
    name: str
    avatar: str
    color: str
    summary: str
    role: str


@dataclass(frozen=True)
class ScenarioCard:
    id: str
    title: str
    group_type: str
    challenge: str
    stage: str
    difficulty: str
    content_note: str | None
    briefing: str
    members: tuple[MemberCard, ...]
    objectives: tuple[str, ...]
    max_turns: int


def _card(scenario: Scenario) -> ScenarioCard:
    library = get_library()
    personas = library.personas_for(scenario)
    members = tuple(
        MemberCard(m.name, personas[m.name].avatar, personas[m.name].color, personas[m.name].summary, m.role)
        for m in scenario.members
    )
    return ScenarioCard(
        id=scenario.id,
        title=scenario.title,
        group_type=scenario.group_type,
        challenge=scenario.challenge,
        stage=scenario.stage,
        difficulty=scenario.difficulty,
        content_note=scenario.content_note,
        briefing=scenario.briefing,
        members=members,
        objectives=tuple(o.description for o in scenario.objectives),
        max_turns=scenario.max_turns,
    )


def scenario_cards() -> list[ScenarioCard]:
    library = get_library()
    order = _ORDER["difficulty"]
    scenarios = sorted(library.scenarios.values(), key=lambda s: (order.index(s.difficulty), s.title))
    return [_card(s) for s in scenarios]


def facet_values(cards: Iterable[ScenarioCard]) -> dict[str, list[str]]:
    values: dict[str, set[str]] = {facet: set() for facet in FACETS}
    for card in cards:
        for facet in FACETS:
            values[facet].add(getattr(card, facet))
    out = {}
    for facet, found in values.items():
        order = _ORDER.get(facet)
        out[facet] = sorted(found, key=lambda v: (order.index(v) if order and v in order else 99, v))
    return out


def filter_cards(cards: Iterable[ScenarioCard], chosen: dict[str, list[str]]) -> list[ScenarioCard]:
    """Cards matching every facet that has a selection (an empty selection means any)."""
    return [c for c in cards if all(not chosen.get(f) or getattr(c, f) in chosen[f] for f in FACETS)]
