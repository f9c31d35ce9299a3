"""Whole sessions rated high or low quality: does the scorer tell good practice from poor practice?

Expert raters judge whole recordings, not single replies, so `evaluation/sessions/` holds whole one-to-one
and group sessions, each written as a high- or low-quality example and rated blind by a second rater
(`evaluation/annotations/sessions_second.jsonl`). Every helper or facilitator turn is scored the way
`holdspace score` scores a reply (the turns before it as context), and a session's score is the mean of
its turns' overall scores, as in the session report. The measure is how often a high session outscores a
low one (the area under the ROC curve).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from holdspace.scoring import text as T
from holdspace.scoring.scorer import ScoreRequest
from holdspace.settings import PROJECT_ROOT

SESSIONS_DIR = PROJECT_ROOT / "evaluation" / "sessions"
SECOND_RATER = PROJECT_ROOT / "evaluation" / "annotations" / "sessions_second.jsonl"


class SessionTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field(min_length=1)
    text: str


class SessionRecord(BaseModel):
    """One whole session: who said what, and the quality it was written and rated as."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    setting: Literal["group", "one_to_one"]
    quality: Literal["high", "low"]
    topic: str
    turns: list[SessionTurn] = Field(min_length=2)
    #: the file the session came from (`part_a` ...), set by `load_sessions`
    part: str = Field(default="", exclude=True)


class SessionRating(BaseModel):
    """A blind second rater's call on a session."""

    model_config = ConfigDict(extra="forbid")

    id: str
    quality: Literal["high", "low"]
    global_: int = Field(alias="global", ge=1, le=5)
    reason: str = ""


class SessionFileError(ValueError):
    """A sessions file line that does not parse or validate; the message names the file and line."""


def _read_jsonl(path: Path, model: type[BaseModel]) -> list:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(model.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            detail = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc), "loc": ()}
            field = ".".join(str(p) for p in detail.get("loc", ())) or "line"
            raise SessionFileError(f"{path}:{number}: {field}: {detail['msg']}") from exc
    return out


def load_sessions(directory: Path = SESSIONS_DIR) -> list[SessionRecord]:
    """Every session in `directory/*.jsonl`, in file order; ids must be unique."""
    sessions: list[SessionRecord] = []
    for path in sorted(directory.glob("*.jsonl")):
        sessions.extend(s.model_copy(update={"part": path.stem}) for s in _read_jsonl(path, SessionRecord))
    seen: set[str] = set()
    for s in sessions:
        if s.id in seen:
            raise SessionFileError(f"{directory}: session id {s.id!r} appears twice")
        seen.add(s.id)
    return sessions


def load_second_ratings(path: Path = SECOND_RATER) -> dict[str, SessionRating]:
    return {r.id: r for r in _read_jsonl(path, SessionRating)} if path.is_file() else {}


def requests_for(session: SessionRecord, max_context: int = T.MAX_CONTEXT_TURNS) -> list[ScoreRequest]:
    """One score request per helper or facilitator turn, with the turns before it as its context."""
    turns = [{"speaker": t.speaker, "text": t.text} for t in session.turns]
    members = T.member_names(T.to_utterances(turns))
    out = []
    for i, turn in enumerate(session.turns):
        if T.is_facilitator(turn.speaker) and turn.text.strip():
            context = T.to_utterances(turns[max(0, i - max_context) : i])
            out.append(ScoreRequest(f"{session.id}#{i}", turn.text, context, members=members))
    return out


@dataclass
class SessionResult:
    id: str
    part: str
    setting: str
    quality: str
    turns_scored: int
    mean_overall: float
    #: reflections per question asked (the MITI reflection-to-question ratio)
    reflections_per_question: float
    #: share of scored turns with advice or judgment
    telling_share: float


def roc_auc(high: Sequence[float], low: Sequence[float]) -> float:
    """How often a high session's value beats a low one's (ties count half)."""
    if not high or not low:
        return float("nan")
    wins = sum(1.0 if h > lo else 0.5 if h == lo else 0.0 for h in high for lo in low)
    return wins / (len(high) * len(low))


def evaluate(sessions: Sequence[SessionRecord], scorer) -> list[SessionResult]:  # noqa: ANN001 - a TurnScorer
    """Score every session's helper turns with `scorer` (anything with `score_many`)."""
    results = []
    for session in sessions:
        scored = scorer.score_many(requests_for(session))
        overalls = [r.overall for r in scored if r.overall is not None]
        labels = [{m.label for m in r.moves} for r in scored]
        questions = sum(("open_question" in ls) + ("closed_question" in ls) for ls in labels)
        reflections = sum("reflection" in ls for ls in labels)
        results.append(
            SessionResult(
                session.id,
                session.part,
                session.setting,
                session.quality,
                len(scored),
                sum(overalls) / len(overalls) if overalls else 0.0,
                reflections / max(1, questions),
                sum(bool(ls & {"advice", "judgment"}) for ls in labels) / max(1, len(labels)),
            )
        )
    return results
