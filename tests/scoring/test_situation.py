"""Situation-aware scoring: the dimensions a reply is scored on follow what the moment calls for."""

from __future__ import annotations

from holdspace.engine.session import Situation
from holdspace.engine.types import Utterance
from holdspace.scoring import get_turn_scorer, score_record
from holdspace.scoring.situation import read_context


def test_disclosure_calls_for_empathy_and_crisis() -> None:
    out = score_record(
        {
            "id": "d",
            "context": [{"speaker": "Sam", "text": "I used again on Friday. Nobody knows. I feel like a failure."}],
            "reply": "That must feel really heavy, Sam, and I'm glad you told us. How are you doing right now?",
        }
    )
    assert out["scores"]["empathy"] is not None and out["scores"]["crisis"] is not None
    assert out["scores"]["participation"] is None and out["scores"]["focus"] is None


def test_monologue_calls_for_participation_and_focus() -> None:
    long_turn = "and then my landlord said the boiler was my fault, " * 12 + "and another thing—"
    out = score_record(
        {
            "id": "m",
            "context": [{"speaker": "Gary", "text": long_turn}, {"speaker": "Lorna", "text": "..."}][:1],
            "reply": "Okay.",
        }
    )
    assert out["scores"]["participation"] is not None and out["scores"]["focus"] is not None
    assert out["scores"]["participation"] <= 2
    assert "Gary" in out["feedback"]
    assert out.get("alternative") and "Gary" in out["alternative"]


def test_risk_without_a_safety_question_is_flagged() -> None:
    out = score_record(
        {
            "id": "r",
            "context": [{"speaker": "Ana", "text": "Honestly everyone would be better off without me."}],
            "reply": "Let's move on to the next person.",
        }
    )
    assert out["scores"]["crisis"] is not None and out["scores"]["crisis"] <= 2
    assert "safety" in out["feedback"]
    assert "ending your life" in out["alternative"]


def test_context_tags() -> None:
    m = read_context(
        [Utterance("Rae", "member", "Shut up, Tom, you always do this!!"), Utterance("Tom", "member", "Whatever.")]
    )
    assert "anger" in m.tags
    quiet = read_context(
        [
            Utterance("facilitator", "facilitator", "How is everyone?"),
            Utterance("Bo", "member", "Fine."),
            Utterance("Cy", "member", "..."),
        ]
    )
    assert "quiet" in quiet.tags


def test_engine_situation_drives_dimensions() -> None:
    scorer = get_turn_scorer()
    tense = Situation(
        tension=0.85,
        engagement=0.5,
        safety=0.4,
        dominant_share=0.2,
        quiet_members=(),
        pending_needs=("conflict",),
        last_member_intents=("escalate",),
        turn=4,
    )
    reply = "I can see you both care a lot about this. Let's take a breath before we go on."
    moves = scorer.detector.detect(reply, [], ["Rae", "Tom"])
    score = scorer.score_turn(reply, moves, [Utterance("Rae", "member", "You're a liar, Tom.")], tense)
    assert score.scores["safety"] is not None and score.scores["crisis"] is not None
    assert score.overall is not None and score.feedback
