"""Pydantic models for the content a trainer reads and writes: personas, scenarios, the rubric.

Every model forbids unknown fields so a typo in YAML is reported, not silently ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MOVE_LABELS: tuple[str, ...] = (
    "open_question",
    "closed_question",
    "reflection",
    "affirmation",
    "summary",
    "self_disclosure",
    "information",
    "advice",
    "invite",
    "redirect",
    "ground_rules",
    "safety_check",
    "referral",
    "de_escalation",
    "judgment",
    "other",
)
MoveLabel = Literal[
    "open_question",
    "closed_question",
    "reflection",
    "affirmation",
    "summary",
    "self_disclosure",
    "information",
    "advice",
    "invite",
    "redirect",
    "ground_rules",
    "safety_check",
    "referral",
    "de_escalation",
    "judgment",
    "other",
]

DIMENSIONS: tuple[str, ...] = (
    "safety",
    "empathy",
    "questioning",
    "participation",
    "focus",
    "crisis",
    "peer_stance",
)
Dimension = Literal["safety", "empathy", "questioning", "participation", "focus", "crisis", "peer_stance"]

#: What a member may do in a round. `silent` produces no line.
INTENTS: tuple[str, ...] = (
    "answer",
    "interrupt",
    "deflect",
    "disclose",
    "escalate",
    "calm_down",
    "support",
    "leave",
)
Intent = Literal["answer", "interrupt", "deflect", "disclose", "escalate", "calm_down", "support", "leave"]

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Delta = Annotated[float, Field(ge=-1.0, le=1.0)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=2, max_length=60)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------- effects
class MoveEffect(Strict):
    """How one facilitation move changes the group. All fields are deltas applied once per reply.

    `room_*` change the room; `addressed_*` change the member(s) named in the reply (or, for `invite`
    without a name, the quietest member); `dominant_restraint` makes the member with the largest share of
    airtime hold back; `speakers_*` change every member's willingness to speak.
    """

    tension: Delta = 0.0
    engagement: Delta = 0.0
    safety: Delta = 0.0
    addressed_engagement: Delta = 0.0
    addressed_distress: Delta = 0.0
    dominant_restraint: Delta = 0.0
    quiet_engagement: Delta = 0.0


class PersonaTendencies(Strict):
    """Stable traits the director reads; 0..1."""

    talkativeness: Unit = 0.5
    interrupts: Unit = 0.1
    volatility: Unit = 0.2
    sensitivity: Unit = 0.4
    openness: Unit = 0.5


class Persona(Strict):
    id: Slug
    name: str = Field(min_length=1, max_length=40)
    age: int | None = Field(default=None, ge=16, le=100)
    pronouns: str = "they/them"
    avatar: str = Field(default="🙂", max_length=8, description="an emoji shown beside the member's lines")
    color: str = Field(default="#5b6c8f", pattern=r"^#[0-9a-fA-F]{6}$")
    summary: str = Field(min_length=10, max_length=300, description="one line a trainee sees in the briefing")
    background: str = Field(min_length=40, description="history the persona prompt draws on")
    voice: str = Field(min_length=10, description="how this member talks: register, rhythm, habits")
    tendencies: PersonaTendencies = PersonaTendencies()
    #: authored lines per intent; the fallback when a model line fails the guard, and the scripted backend
    lines: dict[Intent, list[str]]
    #: optional per-persona changes to how a move lands with this member (added to the scenario's)
    responds_to: dict[MoveLabel, MoveEffect] = Field(default_factory=dict)

    @field_validator("lines")
    @classmethod
    def _lines_not_blank(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for intent, lines in value.items():
            for line in lines:
                if not line.strip():
                    raise ValueError(f"lines.{intent} has an empty line")
        return value


# --------------------------------------------------------------------------------------------- scenario
_CONDITION = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*(?:\.[a-z_]+)?)\s*(?P<op><=|>=|<|>|==)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$"
)
ROOM_METRICS = {"tension", "engagement", "safety", "turn", "evenness", "unhandled_needs"}
MEMBER_METRICS = {"airtime_share", "distress", "engagement"}


class Condition(BaseModel):
    """A small comparison over the group state, written as text in YAML: `tension >= 0.8`,
    `Marcus.airtime_share <= 0.4`, `turn >= 6`, `evenness >= 0.7`."""

    model_config = ConfigDict(frozen=True)
    metric: str
    member: str | None = None
    op: Literal["<=", ">=", "<", ">", "=="]
    value: float
    text: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.match(text)
        if not match:
            raise ValueError(f"condition {text!r} is not of the form `metric op number`, e.g. `tension >= 0.8`")
        metric = match["metric"]
        member = None
        if "." in metric:
            member, metric = metric.split(".", 1)
            if metric not in MEMBER_METRICS:
                raise ValueError(f"unknown member metric {metric!r}; use one of {sorted(MEMBER_METRICS)}")
        elif metric not in ROOM_METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {sorted(ROOM_METRICS)}")
        return cls(metric=metric, member=member, op=match["op"], value=float(match["value"]), text=text.strip())

    def satisfiable(self, max_turns: int) -> bool:
        """False when no state could ever meet it (an unreachable end condition or event)."""
        if self.metric == "turn":
            low, high = 0.0, float(max_turns)
        elif self.metric == "unhandled_needs":
            low, high = 0.0, 100.0
        else:
            low, high = 0.0, 1.0
        op, v = self.op, self.value
        return {
            "<=": v >= low,
            "<": v > low,
            ">=": v <= high,
            ">": v < high,
            "==": low <= v <= high,
        }[op]


def _condition(value: object) -> object:
    return Condition.parse(value) if isinstance(value, str) else value


ConditionField = Annotated[Condition, Field(json_schema_extra={"type": "string"})]


class ScenarioMember(Strict):
    name: str = Field(min_length=1, max_length=40)
    persona: Slug
    #: what this member is in the scenario's challenge; the director uses it for defaults
    role: Literal["member", "dominant", "quiet", "volatile", "discloser"] = "member"
    engagement: Unit = 0.5
    distress: Unit = 0.2


class NeedSpec(Strict):
    """A pending need an event creates, e.g. a disclosure not yet acknowledged.

    Handled when one reply (or two consecutive replies) carry an `acknowledge` move and a `support` move
    and none of the `breaks` moves. Each facilitator turn it stays pending costs `unhandled_cost`.
    """

    kind: Literal["disclosure", "distress", "safety", "conflict"] = "disclosure"
    acknowledge: list[MoveLabel] = ["reflection", "affirmation", "self_disclosure"]
    support: list[MoveLabel] = ["referral", "open_question", "invite", "information", "safety_check"]
    breaks: list[MoveLabel] = ["judgment", "redirect", "advice"]
    unhandled_cost: MoveEffect = MoveEffect(safety=-0.12, addressed_distress=0.12, engagement=-0.05)
    handled_gain: MoveEffect = MoveEffect(safety=0.08, addressed_distress=-0.2, engagement=0.05)
    grace_turns: int = Field(default=1, ge=0, le=3, description="facilitator turns allowed before a cost")


class ScenarioEvent(Strict):
    """A scripted beat: at a turn (or when a condition first holds) a member does something specific."""

    id: Slug
    at_turn: int | None = Field(default=None, ge=0)
    when: ConditionField | None = None
    speaker: str
    intent: Intent
    #: the key beat's content; one of these is always delivered whatever the model writes
    lines: list[str] = Field(min_length=1)
    effect: MoveEffect = MoveEffect()
    need: NeedSpec | None = None

    _parse_when = field_validator("when", mode="before")(classmethod(lambda cls, v: _condition(v)))

    @model_validator(mode="after")
    def _has_trigger(self) -> ScenarioEvent:
        if (self.at_turn is None) == (self.when is None):
            raise ValueError("an event needs exactly one of `at_turn` or `when`")
        return self


class Objective(Strict):
    id: Slug
    description: str = Field(min_length=10)
    dimension: Dimension
    #: met when the condition holds at the end (or `need:<event-id>` is handled)
    check: str

    @field_validator("check")
    @classmethod
    def _check_form(cls, value: str) -> str:
        if value.startswith("need:") or value.startswith("moved:"):
            return value
        Condition.parse(value)
        return value


class EndCondition(Strict):
    when: ConditionField | None = None
    objectives_met: bool = False
    outcome: Literal["completed", "crisis", "ended_early"] = "completed"
    message: str = Field(default="", description="what the trainee is told when the session ends this way")

    _parse_when = field_validator("when", mode="before")(classmethod(lambda cls, v: _condition(v)))

    @model_validator(mode="after")
    def _has_trigger(self) -> EndCondition:
        if self.when is None and not self.objectives_met:
            raise ValueError("an end condition needs `when` or `objectives_met: true`")
        return self


class InitialState(Strict):
    tension: Unit = 0.2
    engagement: Unit = 0.5
    safety: Unit = 0.7


class OpeningLine(Strict):
    speaker: str
    text: str = Field(min_length=1)


class Scenario(Strict):
    id: Slug
    title: str = Field(min_length=3, max_length=80)
    group_type: Literal[
        "mental health", "addiction recovery", "chronic illness", "bereavement", "carers", "general"
    ]
    challenge: str = Field(min_length=3, max_length=60, description="the facilitation challenge, for filtering")
    stage: Literal["forming", "storming", "norming", "performing"]
    difficulty: Literal["beginner", "intermediate", "advanced"]
    content_note: str | None = Field(default=None, description="shown before starting when themes are heavy")
    briefing: str = Field(min_length=40, description="Markdown the trainee reads before starting")
    members: list[ScenarioMember] = Field(min_length=2, max_length=8)
    initial_state: InitialState = InitialState()
    opening: list[OpeningLine] = Field(default_factory=list, description="lines members say before turn 1")
    max_turns: int = Field(default=10, ge=2, le=40, description="facilitator replies before the session ends")
    objectives: list[Objective] = Field(min_length=1)
    events: list[ScenarioEvent] = Field(default_factory=list)
    end_conditions: list[EndCondition] = Field(default_factory=list)
    #: overrides of the default move effects for this scenario (merged field by field)
    move_effects: dict[MoveLabel, MoveEffect] = Field(default_factory=dict)
    #: members may talk over each other in the same round
    crosstalk: bool = False

    def member_names(self) -> list[str]:
        return [m.name for m in self.members]


# --------------------------------------------------------------------------------------------- rubric
class Anchors(Strict):
    one: str = Field(alias="1", min_length=10)
    three: str = Field(alias="3", min_length=10)
    five: str = Field(alias="5", min_length=10)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RubricDimension(Strict):
    id: Dimension
    title: str
    description: str = Field(min_length=10)
    anchors: Anchors
    applies_when: list[str] = Field(min_length=1, description="situations that make this dimension relevant")
    guide_sections: list[str] = Field(min_length=1, description="guide_corpus document ids it rests on")
    #: moves that raise or lower this dimension's score (read by the scorer)
    positive_moves: list[MoveLabel] = Field(default_factory=list)
    negative_moves: list[MoveLabel] = Field(default_factory=list)


class Rubric(Strict):
    version: str = "1"
    dimensions: list[RubricDimension] = Field(min_length=7, max_length=7)

    @model_validator(mode="after")
    def _all_dimensions(self) -> Rubric:
        ids = [d.id for d in self.dimensions]
        missing = set(DIMENSIONS) - set(ids)
        if missing or len(set(ids)) != len(ids):
            raise ValueError(f"the rubric needs each of {list(DIMENSIONS)} exactly once")
        return self

    def dimension(self, dim: str) -> RubricDimension:
        return next(d for d in self.dimensions if d.id == dim)
