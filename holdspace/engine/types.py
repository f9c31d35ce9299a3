"""Plain data passed between the parts of the turn loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from holdspace.content.models import Persona

SpeakerRole = Literal["facilitator", "member", "system"]


@dataclass(frozen=True)
class Move:
    label: str
    confidence: float
    evidence: str
    depth: str | None = None  # reflections: "simple" | "complex"

    def to_json(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 3), "evidence": self.evidence}
        if self.depth:
            out["depth"] = self.depth
        return out


@dataclass(frozen=True)
class Utterance:
    speaker: str  # "facilitator", a member's name, or "system"
    role: SpeakerRole
    text: str


@dataclass(frozen=True)
class LineRequest:
    """What the director asks a persona to say. The engine decides what a line must convey; the model
    (if any) only phrases it."""

    speaker: str
    persona: Persona
    intent: str
    #: other members of the group, by name (a line must not speak for them)
    others: tuple[str, ...]
    #: recent transcript, oldest first
    recent: tuple[Utterance, ...]
    #: the facilitator's reply this round (what the line should be relevant to)
    facilitator_reply: str
    #: the member this line is aimed at (escalate/support), fills `{target}` in authored lines
    target: str | None = None
    #: a key beat: alternatives of authored content that must be delivered (disclosure, threat)
    beat_lines: tuple[str, ...] = ()
    #: lines this member already said (the guard rejects repeats)
    said_before: tuple[str, ...] = ()
    #: deterministic choice of lines
    seed: int = 0


@dataclass
class RenderedLine:
    text: str
    #: "model" (a model line that passed the guard), "authored" (fallback or scripted), "beat"
    source: str
    #: shown to the trainee when the model could not be used (e.g. the server is down)
    notice: str | None = None
    #: model lines the guard rejected, with the reason (kept for the quality benchmark)
    rejected: list[tuple[str, str]] = field(default_factory=list)
