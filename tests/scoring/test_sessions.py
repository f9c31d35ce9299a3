"""Whole sessions rated high or low: loading, one request per helper turn, and the scorer telling them apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from holdspace.scoring import get_turn_scorer
from holdspace.scoring import sessions as S


def _session(**changes) -> dict:
    base = {
        "id": "x-01",
        "setting": "group",
        "quality": "high",
        "topic": "grief group",
        "turns": [
            {"speaker": "facilitator", "text": "Welcome back, everyone. Who'd like to start?"},
            {"speaker": "Ama", "text": "I will. It was Mum's birthday on Sunday and I couldn't get out of bed."},
            {"speaker": "Facilitator", "text": "Her birthday knocked the wind out of you."},
            {"speaker": "Ravi", "text": "Same with my dad's, every year."},
        ],
    }
    return base | changes


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_requests_one_per_helper_turn_with_the_turns_before_it(tmp_path: Path) -> None:
    _write(tmp_path / "part.jsonl", [_session()])
    (session,) = S.load_sessions(tmp_path)
    requests = S.requests_for(session)
    assert [r.id for r in requests] == ["x-01#0", "x-01#2"]
    assert requests[0].context == []
    assert [u.text for u in requests[1].context][-1].startswith("I will.")
    assert [u.role for u in requests[1].context] == ["facilitator", "member"]
    assert requests[1].members == ["Ama", "Ravi"]


@pytest.mark.parametrize(
    ("change", "named"),
    [({"quality": "medium"}, "quality"), ({"rater": "me"}, "rater"), ({"turns": []}, "turns")],
)
def test_a_bad_session_line_names_the_file_line_and_field(tmp_path: Path, change: dict, named: str) -> None:
    _write(tmp_path / "part.jsonl", [_session(), _session(id="x-02", **change)])
    with pytest.raises(S.SessionFileError) as err:
        S.load_sessions(tmp_path)
    assert "part.jsonl:2" in str(err.value) and named in str(err.value)


def test_duplicate_session_ids_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "part.jsonl", [_session(), _session()])
    with pytest.raises(S.SessionFileError, match="x-01"):
        S.load_sessions(tmp_path)


def test_roc_auc() -> None:
    assert S.roc_auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert S.roc_auc([1.0], [2.0]) == 0.0
    assert S.roc_auc([2.0], [2.0]) == 0.5


def test_the_scorer_ranks_the_shipped_high_sessions_above_the_low_ones() -> None:
    sessions = S.load_sessions()
    assert len(sessions) >= 30 and {s.quality for s in sessions} == {"high", "low"}
    results = S.evaluate(sessions, get_turn_scorer())
    high = [r.mean_overall for r in results if r.quality == "high"]
    low = [r.mean_overall for r in results if r.quality == "low"]
    assert S.roc_auc(high, low) >= 0.8
    # and the move profile points the same way: more reflecting, less telling in good practice
    refl_high = [r.reflections_per_question for r in results if r.quality == "high"]
    refl_low = [r.reflections_per_question for r in results if r.quality == "low"]
    assert S.roc_auc(refl_high, refl_low) >= 0.7


def test_every_shipped_session_has_a_blind_second_rating() -> None:
    ratings = S.load_second_ratings()
    assert {s.id for s in S.load_sessions()} <= set(ratings)
