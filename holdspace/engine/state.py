"""Group state and how facilitation moves change it.

The response to each move is data: `default_effects.yaml`, merged with the scenario's `move_effects` and
each persona's `responds_to`. This module only applies those deltas and keeps the books (airtime, needs,
trajectories); it has no opinion of its own about what a good reply is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from holdspace.content.models import Condition, MoveEffect, NeedSpec, Persona, Scenario

_DEFAULTS = Path(__file__).with_name("default_effects.yaml")

#: restraint fades each round: a dominant member who is redirected once drifts back over a few rounds
RESTRAINT_DECAY = 0.08


@lru_cache(maxsize=1)
def default_effects() -> dict[str, MoveEffect]:
    raw = yaml.safe_load(_DEFAULTS.read_text(encoding="utf-8"))
    return {label: MoveEffect(**values) for label, values in raw.items()}


def clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


@dataclass
class MemberState:
    name: str
    engagement: float
    distress: float
    airtime: int = 0  # words spoken
    restraint: float = 0.0  # 0 = takes the floor freely, 1 = holds back
    invited: bool = False  # the facilitator drew this member in this round
    present: bool = True
    turns_spoken: int = 0
    escalated: bool = False


@dataclass
class NeedState:
    event_id: str
    member: str
    spec: NeedSpec
    created_turn: int
    status: str = "pending"  # pending | acknowledged | handled
    turns_pending: int = 0

    @property
    def handled(self) -> bool:
        return self.status == "handled"


@dataclass
class GroupState:
    tension: float
    engagement: float
    safety: float
    members: dict[str, MemberState]
    turn: int = 0
    facilitator_words: int = 0
    needs: dict[str, NeedState] = field(default_factory=dict)
    fired_events: set[str] = field(default_factory=set)
    history: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def initial(cls, scenario: Scenario) -> GroupState:
        init = scenario.initial_state
        members = {m.name: MemberState(m.name, m.engagement, m.distress) for m in scenario.members}
        state = cls(init.tension, init.engagement, init.safety, members)
        state.record()
        return state

    # ------------------------------------------------------------------ metrics
    @property
    def member_words(self) -> int:
        return sum(m.airtime for m in self.members.values())

    def airtime_share(self, name: str) -> float:
        total = self.member_words
        return self.members[name].airtime / total if total else 0.0

    def evenness(self) -> float:
        """Pielou evenness of member airtime: 1 when everyone spoke equally, 0 when one member spoke alone."""
        total = self.member_words
        n = len(self.members)
        if total == 0 or n < 2:
            return 0.0
        shares = [m.airtime / total for m in self.members.values() if m.airtime]
        entropy = -sum(p * math.log(p) for p in shares)
        return entropy / math.log(n)

    def facilitator_talk_ratio(self) -> float:
        total = self.facilitator_words + self.member_words
        return self.facilitator_words / total if total else 0.0

    def unhandled_needs(self) -> int:
        return sum(1 for n in self.needs.values() if not n.handled and n.turns_pending > n.spec.grace_turns)

    def dominant(self) -> str | None:
        """The member holding more than an even share of the floor, if any."""
        if not self.member_words:
            return None
        name = max(self.members, key=lambda n: (self.members[n].airtime, n))
        return name if self.airtime_share(name) > 1.0 / len(self.members) else None

    def quiet_members(self) -> list[str]:
        even = 1.0 / len(self.members)
        return [n for n, m in self.members.items() if m.present and self.airtime_share(n) < even * 0.75]

    def metric(self, condition: Condition) -> float:
        if condition.member is not None:
            member = self.members[condition.member]
            return {
                "airtime_share": self.airtime_share(condition.member),
                "distress": member.distress,
                "engagement": member.engagement,
            }[condition.metric]
        return {
            "tension": self.tension,
            "engagement": self.engagement,
            "safety": self.safety,
            "turn": float(self.turn),
            "evenness": self.evenness(),
            "unhandled_needs": float(self.unhandled_needs()),
        }[condition.metric]

    def holds(self, condition: Condition) -> bool:
        value, target = self.metric(condition), condition.value
        return {
            "<=": value <= target + 1e-9,
            ">=": value >= target - 1e-9,
            "<": value < target,
            ">": value > target,
            "==": abs(value - target) < 1e-9,
        }[condition.op]

    def snapshot(self) -> dict:
        """The `state` of a transcript record."""
        return {
            "tension": round(self.tension, 3),
            "engagement": round(self.engagement, 3),
            "safety": round(self.safety, 3),
            "airtime": {name: m.airtime for name, m in self.members.items()},
        }

    def record(self) -> None:
        self.history.append(
            {"turn": self.turn, "tension": self.tension, "engagement": self.engagement, "safety": self.safety}
        )

    # ------------------------------------------------------------------ updates
    def add_line(self, speaker: str, text: str) -> None:
        words = len(text.split())
        if speaker == "facilitator":
            self.facilitator_words += words
        elif speaker in self.members:
            member = self.members[speaker]
            member.airtime += words
            member.turns_spoken += 1
            member.invited = False


class EffectBook:
    """Resolved move effects for one scenario: defaults, then the scenario's overrides, plus personas'."""

    def __init__(self, scenario: Scenario, personas: dict[str, Persona]):
        merged = dict(default_effects())
        for label, override in scenario.move_effects.items():
            base = merged.get(label, MoveEffect()).model_dump()
            base.update(override.model_dump(exclude_unset=True))
            merged[label] = MoveEffect(**base)
        self.room = merged
        self.personal = {name: persona.responds_to for name, persona in personas.items()}


def apply_effect(state: GroupState, effect: MoveEffect, addressed: list[str], scale: float = 1.0) -> None:
    state.tension = clamp(state.tension + effect.tension * scale)
    state.engagement = clamp(state.engagement + effect.engagement * scale)
    state.safety = clamp(state.safety + effect.safety * scale)
    for name in addressed:
        member = state.members[name]
        member.engagement = clamp(member.engagement + effect.addressed_engagement * scale)
        member.distress = clamp(member.distress + effect.addressed_distress * scale)
    if effect.dominant_restraint:
        dominant = state.dominant()
        if dominant and dominant not in addressed or (dominant and effect.dominant_restraint > 0):
            m = state.members[dominant]
            m.restraint = clamp(m.restraint + effect.dominant_restraint * scale)
    if effect.quiet_engagement:
        for name in state.quiet_members():
            m = state.members[name]
            m.engagement = clamp(m.engagement + effect.quiet_engagement * scale)
    # Members' engagement follows the room a little, so a warmer room draws everyone in.
    for m in state.members.values():
        m.engagement = clamp(m.engagement + 0.3 * effect.engagement * scale)
