"""The rubric scorer: which moves a facilitator reply makes, how it scores on the dimensions the moment calls
for, and coaching grounded in the guide.

Public names:
- `get_move_detector()`: the trained hybrid detector (engine's MoveDetector interface), or the rules when
  no model can be loaded.
- `get_turn_scorer()`: the default (deterministic) scorer, implementing the engine's TurnScorer.
- `score_record(record)`: score one `holdspace score` input record and return the output record.
- `score_records(records)`: the same for many (batched).
- `summarise_session(records)`: dimension means, strengths, growth areas, key moments.
- `Scorer`: the scorer interface (`score_many`, `score_turn`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from holdspace.engine.moves import MoveDetector, RuleMoveDetector
from holdspace.scoring.scorer import (
    DeterministicScorer,
    JudgeUnavailable,
    LLMJudgeScorer,
    ScoredReply,
    Scorer,
    ScoreRequest,
)
from holdspace.scoring.summary import summarise_session

__all__ = [
    "DeterministicScorer",
    "JudgeUnavailable",
    "LLMJudgeScorer",
    "ScoreRequest",
    "ScoredReply",
    "Scorer",
    "get_move_detector",
    "get_turn_scorer",
    "reset_scoring",
    "score_record",
    "score_records",
    "summarise_session",
]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_scorer: DeterministicScorer | None = None


def get_move_detector() -> MoveDetector:
    """The trained detector (loaded once per process); the engine's rules if no model can be had."""
    try:
        return get_turn_scorer().detector
    except Exception as exc:  # never leave the engine without a detector
        log.warning("trained move detector unavailable (%s); using the rules", exc)
        return RuleMoveDetector()


def get_turn_scorer() -> DeterministicScorer:
    """The default judge, shared per process (the detector, score weights and citation cache load once)."""
    global _scorer
    if _scorer is None:
        with _lock:
            if _scorer is None:
                _scorer = DeterministicScorer()
    return _scorer


def reset_scoring() -> None:
    """Forget the shared scorer and models (tests change settings between cases)."""
    global _scorer
    from holdspace.scoring.detector import reset_model
    from holdspace.scoring.rubric import _rubric_at, load_score_model

    with _lock:
        _scorer = None
    reset_model()
    load_score_model.cache_clear()
    _rubric_at.cache_clear()


def score_records(records: Sequence[dict[str, Any]], scorer: Scorer | None = None) -> list[dict[str, Any]]:
    """Score input records (`{"id", "context", "reply"}`); raises ValueError naming the first bad field."""
    from holdspace.scoring.records import _request

    requests = []
    for i, raw in enumerate(records, start=1):
        parsed = _request(i, raw)
        if not isinstance(parsed, ScoreRequest):
            raise ValueError(str(parsed))
        requests.append(parsed)
    return [r.to_json() for r in (scorer or get_turn_scorer()).score_many(requests)]


def score_record(record: dict[str, Any], scorer: Scorer | None = None) -> dict[str, Any]:
    """Score one input record and return the `holdspace score` output record."""
    return score_records([record], scorer)[0]
