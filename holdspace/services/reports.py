"""The session report: what a good supervision session would go over, as plain data for any front end.

Rubric means per dimension, the group's trajectory (tension, engagement, safety per turn), airtime per
member, objectives met, a review (strengths, growth areas, key moments — from `holdspace.scoring` when it
provides `summarise_session`, else a plainer one computed here) and the trainee's replies with their
annotations.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from holdspace.content import DIMENSIONS, Scenario, get_library
from holdspace.services.accounts import UserInfo
from holdspace.services.sessions_service import SessionInfo, Transcript, TranscriptEntry, get_transcript

log = logging.getLogger(__name__)

#: a change of tension or engagement this large within one turn is a key moment
SHIFT = 0.15


@dataclass(frozen=True)
class ObjectiveResult:
    id: str
    description: str
    dimension: str
    met: bool | None  # None: not known yet (the session has not ended)


@dataclass(frozen=True)
class ReviewItem:
    text: str
    turn: int | None = None
    citation: dict[str, str] | None = None


@dataclass
class Review:
    strengths: list[ReviewItem] = field(default_factory=list)
    growth_areas: list[ReviewItem] = field(default_factory=list)
    key_moments: list[ReviewItem] = field(default_factory=list)
    #: the listening profile (reflections per question, share of open questions, ...) when the scorer gives one
    profile: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    info: SessionInfo
    transcript: Transcript
    scenario: Scenario | None
    summary: dict[str, Any]
    dimension_scores: dict[str, float]
    trajectory: list[dict[str, float]]
    airtime: dict[str, int]
    objectives: list[ObjectiveResult]
    review: Review
    outcome: dict[str, Any]

    @property
    def replies(self) -> list[TranscriptEntry]:
        return [e for e in self.transcript.entries if e.record.get("role") == "facilitator"]


def dimension_title(dim: str) -> str:
    library = get_library()
    if library.rubric is not None:
        try:
            return library.rubric.dimension(dim).title
        except StopIteration:
            pass
    return dim.replace("_", " ").capitalize()


def dimension_label(dim: str) -> str:
    """A short name for charts ("Peer stance"); `dimension_title` is the rubric's full title."""
    return dim.replace("_", " ").capitalize()


def trajectory(records: list[dict[str, Any]]) -> list[dict[str, float]]:
    """The room's state at the end of each turn (turn 0 = after the opening lines)."""
    by_turn: dict[int, dict[str, float]] = {}
    for record in records:
        state = record.get("state")
        if state:
            by_turn[int(record.get("turn", 0))] = {
                "turn": int(record.get("turn", 0)),
                "tension": float(state.get("tension", 0.0)),
                "engagement": float(state.get("engagement", 0.0)),
                "safety": float(state.get("safety", 0.0)),
            }
    return [by_turn[t] for t in sorted(by_turn)]


def final_airtime(records: list[dict[str, Any]]) -> dict[str, int]:
    for record in reversed(records):
        airtime = (record.get("state") or {}).get("airtime")
        if airtime is not None:
            return {str(k): int(v) for k, v in airtime.items()}
    return {}


def interrupt_cue(records: Sequence[dict[str, Any]], index: int, crosstalk: bool = False) -> str | None:
    """What to say above a member's line that cuts in, or None for any other record.

    A line whose stored intent is `interrupt` "cuts in"; in a scenario with crosstalk, a line that follows
    another member's line in the same round "talks over" that member (the director puts the dominant
    member's beat right after a scripted one, e.g. Dana starts to speak and Marcus talks over her).
    Only the records before `index` are read, so the live room can say it as soon as the line arrives.
    """
    record = records[index]
    if record.get("role") != "member" or record.get("intent") != "interrupt":
        return None
    if crosstalk and index > 0:
        previous = records[index - 1]
        if (
            previous.get("role") == "member"
            and previous.get("turn") == record.get("turn")
            and previous.get("speaker") != record.get("speaker")
        ):
            return f"talks over {previous.get('speaker')}"
    return "cuts in"


def _number(value: Any) -> str:
    return f"{float(value):.1f}" if isinstance(value, int | float) else str(value)


def _as_item(raw: Any, section: str = "") -> ReviewItem:
    """One review item from whatever shape the scorer gives: text, or a dict naming a dimension (strengths
    `{dimension, mean, note}`, growth areas `{dimension, mean, tip, citations}`), or a moment
    `{id|turn, kind, overall, text, feedback}`."""
    if isinstance(raw, ReviewItem):
        return raw
    if isinstance(raw, str):
        return ReviewItem(raw)
    if not isinstance(raw, dict):
        return ReviewItem(str(raw))
    citation = raw.get("citation")
    if citation is None and raw.get("citations"):
        citation = raw["citations"][0]
    citation = citation if isinstance(citation, dict) else None
    turn = raw.get("turn", raw.get("id"))
    turn = int(turn) if isinstance(turn, int | float) else None
    dimension = raw.get("dimension")
    if section == "key_moments" and raw.get("text") and (raw.get("kind") in ("high", "low") or "overall" in raw):
        kind = {"high": "A strong reply", "low": "A reply to revisit"}.get(str(raw.get("kind")), "A moment")
        score = f" ({_number(raw['overall'])})" if raw.get("overall") is not None else ""
        text = f"{kind}{score}: “{raw['text']}”"
        if raw.get("feedback"):
            text += f" {raw['feedback']}"
        return ReviewItem(text, turn, citation)
    if dimension:
        title = dimension_title(str(dimension))
        mean = f" {_number(raw['mean'])} on average." if raw.get("mean") is not None else ""
        if raw.get("tip"):
            return ReviewItem(f"{title}:{mean} Next time, {raw['tip']}.", turn, citation)
        if raw.get("note"):
            note = re.sub(r"\s*\(mean [^)]*\)\s*$", "", str(raw["note"]))
            return ReviewItem(f"{title}: {note}.{mean}", turn, citation)
        return ReviewItem(f"{title}.{mean}", turn, citation)
    text = next(
        (str(raw[k]) for k in ("text", "description", "summary", "feedback", "title") if raw.get(k)),
        json.dumps(raw, ensure_ascii=False),
    )
    return ReviewItem(text, turn, citation)


def _scoring_review(records: list[dict[str, Any]]) -> Review | None:
    try:
        from holdspace.scoring import summarise_session  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        raw = summarise_session(records)
    except Exception as exc:  # noqa: BLE001 - the plainer review below still serves the trainee
        log.warning("summarise_session failed: %r", exc)
        return None
    if hasattr(raw, "model_dump"):
        raw = raw.model_dump()
    elif not isinstance(raw, dict) and hasattr(raw, "__dict__"):
        raw = vars(raw)
    if not isinstance(raw, dict):
        return None

    def items(section: str, *keys: str) -> list[ReviewItem]:
        for key in keys:
            if raw.get(key):
                return [_as_item(x, section) for x in raw[key]]
        return []

    profile = raw.get("profile") if isinstance(raw.get("profile"), dict) else {}
    return Review(
        items("strengths", "strengths"),
        items("growth_areas", "growth_areas", "growth"),
        items("key_moments", "key_moments", "moments"),
        {k: v for k, v in profile.items() if isinstance(v, int | float)},
    )


def plain_review(records: list[dict[str, Any]], scores: dict[str, float]) -> Review:
    """Strengths and growth areas from the dimension means, key moments from the replies' scores."""
    review = Review()
    replies = [r for r in records if r.get("role") == "facilitator"]
    for dim, mean in sorted(scores.items(), key=lambda kv: -kv[1]):
        if mean >= 4:
            review.strengths.append(ReviewItem(f"{dimension_title(dim)}: {mean:.1f} on average."))
    for dim, mean in sorted(scores.items(), key=lambda kv: kv[1]):
        if mean < 3:
            weakest = min(
                (r for r in replies if (r.get("scores") or {}).get(dim) is not None),
                key=lambda r: r["scores"][dim],
                default=None,
            )
            text = f"{dimension_title(dim)}: {mean:.1f} on average."
            citation = None
            if weakest is not None:
                if weakest.get("feedback"):
                    text += f" At turn {weakest['turn']}: {weakest['feedback']}"
                citation = (weakest.get("citations") or [None])[0]
            review.growth_areas.append(ReviewItem(text, weakest["turn"] if weakest else None, citation))
    scored = [r for r in replies if r.get("overall") is not None]
    if scored:
        best = max(scored, key=lambda r: r["overall"])
        worst = min(scored, key=lambda r: r["overall"])
        review.key_moments.append(ReviewItem(f"Your strongest reply ({best['overall']:.1f}).", best["turn"]))
        if worst is not best:
            review.key_moments.append(ReviewItem(f"Your weakest reply ({worst['overall']:.1f}).", worst["turn"]))
    return review


def group_moments(records: list[dict[str, Any]]) -> list[ReviewItem]:
    """Moments in the group rather than in the replies: big shifts of tension or engagement, and what the
    session itself announced (e.g. how it ended)."""
    moments = []
    for before, after in itertools.pairwise(trajectory(records)):
        for metric in ("tension", "engagement"):
            change = after[metric] - before[metric]
            if abs(change) >= SHIFT:
                direction = "rose" if change > 0 else "fell"
                moments.append(
                    ReviewItem(
                        f"{metric.capitalize()} {direction} from {before[metric]:.2f} to {after[metric]:.2f}.",
                        after["turn"],
                    )
                )
    for record in records:
        if record.get("role") == "system":
            moments.append(ReviewItem(str(record.get("text", "")), record.get("turn")))
    return moments


PROFILE_LABELS = {
    "reflections_per_question": ("reflections per question", "{:.2f}"),
    "open_question_share": ("open questions", "{:.0%}"),
    "complex_reflection_share": ("complex reflections", "{:.0%}"),
    "advice_or_judgment_share": ("replies with advice or judgment", "{:.0%}"),
}


def profile_text(profile: dict[str, float]) -> str:
    """The listening profile as one line, e.g. "reflections per question 0.50 · open questions 67%"."""
    parts = [label + " " + fmt.format(profile[key]) for key, (label, fmt) in PROFILE_LABELS.items() if key in profile]
    return "Listening profile: " + " · ".join(parts) if parts else ""


def build_report(session_id: int, viewer: UserInfo) -> Report:
    transcript = get_transcript(session_id, viewer)
    records = transcript.records
    try:
        scenario: Scenario | None = get_library().scenario(transcript.info.scenario_id)
    except KeyError:
        scenario = None
    summary = transcript.summary
    scores = {d: float(v) for d, v in (summary.get("scores") or {}).items() if v is not None}
    ordered = {d: scores[d] for d in DIMENSIONS if d in scores}
    ordered.update({d: v for d, v in scores.items() if d not in ordered})
    outcome = dict(summary.get("outcome") or {})
    met: dict[str, bool] = dict(outcome.get("objectives") or {})
    objectives = []
    if scenario is not None:
        for o in scenario.objectives:
            objectives.append(ObjectiveResult(o.id, o.description, o.dimension, met.get(o.id)))
    else:
        objectives = [ObjectiveResult(k, k.replace("-", " "), "", v) for k, v in met.items()]
    review = _scoring_review(records) or plain_review(records, ordered)
    review.key_moments = sorted(
        [*review.key_moments, *group_moments(records)], key=lambda i: (i.turn is None, i.turn or 0)
    )
    return Report(
        info=transcript.info,
        transcript=transcript,
        scenario=scenario,
        summary=summary,
        dimension_scores=ordered,
        trajectory=trajectory(records),
        airtime=final_airtime(records),
        objectives=objectives,
        review=review,
        outcome=outcome,
    )
