"""Move detection: MITI conventions, evidence, the engine interface, and the shipped model's integrity."""

from __future__ import annotations

import json

import pytest

from holdspace.engine.types import Utterance
from holdspace.scoring import get_move_detector
from holdspace.scoring.detector import ARTIFACT, LEARNED_LABELS, CascadeModel, HybridMoveDetector


def labels(reply: str, context: list[Utterance] | None = None, members: tuple[str, ...] = ()) -> set[str]:
    detector = get_move_detector()
    return {m.label for m in detector.detect(reply, context or [], members)}


def test_engine_gets_the_trained_detector() -> None:
    assert isinstance(get_move_detector(), HybridMoveDetector)


@pytest.mark.parametrize(
    "reply",
    [
        "Can you tell me more?",
        "Could you say a bit more about that?",
        "What was that like for you?",
        "How did the week go?",
    ],
)
def test_open_questions(reply: str) -> None:
    found = labels(reply)
    assert "open_question" in found and "closed_question" not in found


@pytest.mark.parametrize(
    "reply", ["Did you go to the meeting?", "Are you still taking the tablets?", "How many days has it been?"]
)
def test_closed_questions(reply: str) -> None:
    found = labels(reply)
    assert "closed_question" in found and "open_question" not in found


@pytest.mark.parametrize(
    "reply",
    [
        "So you've been feeling stuck",
        "You're worried nothing will change.",
        "It sounds like you're exhausted from carrying this on your own.",
    ],
)
def test_reflections_need_no_question_mark(reply: str) -> None:
    found = labels(reply, [Utterance("Sam", "member", "I just feel stuck, nothing changes.")])
    assert "reflection" in found
    assert not found & {"open_question", "closed_question"}


@pytest.mark.parametrize(
    "reply", ["Have you thought about calling your sponsor?", "Why don't you go to a meeting tonight?"]
)
def test_advice_dressed_as_a_question_is_advice(reply: str) -> None:
    found = labels(reply)
    assert "advice" in found
    assert not found & {"open_question", "closed_question"}


def test_complex_reflection_depth() -> None:
    detector = get_move_detector()
    moves = detector.detect(
        "Part of you wants to stop, and part of you is scared of who you'd be without it.",
        [Utterance("client", "member", "I want to quit but drinking is all I know.")],
    )
    refl = next(m for m in moves if m.label == "reflection")
    assert refl.depth == "complex"


def test_evidence_points_at_the_sentence() -> None:
    moves = get_move_detector().detect("Thanks for sharing that. Did you sleep at all last night?")
    closed = next(m for m in moves if m.label == "closed_question")
    assert closed.evidence == "Did you sleep at all last night?"
    for m in moves:
        assert m.confidence >= 0.5  # the engine acts on moves at or above 0.5


def test_group_moves() -> None:
    found = labels(
        "Marcus, let me pause you there so others get a turn. Dana, what's been on your mind?",
        [Utterance("Marcus", "member", "and another thing about my landlord—")],
        ("Marcus", "Dana"),
    )
    assert {"redirect", "invite"} <= found


def test_shipped_model_matches_the_label_set() -> None:
    raw = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    model = CascadeModel.from_json(raw)
    assert model.labels == LEARNED_LABELS and model.fast.labels == LEARNED_LABELS
    raw["full"]["labels"] = list(LEARNED_LABELS[:-1])
    with pytest.raises(ValueError, match="labels"):
        CascadeModel.from_json(raw)


def test_fast_mode_never_embeds() -> None:
    from holdspace.embeddings import get_embedder
    from holdspace.scoring.detector import make_item

    detector = HybridMoveDetector(get_move_detector().model, mode="fast")
    before = get_embedder().texts_encoded
    moves = detector.detect_items([make_item("You sound exhausted. What has this week been like?", [])])
    assert get_embedder().texts_encoded == before
    assert {"reflection", "open_question"} <= {m.label for m in moves[0]}


def test_refitting_with_known_choices_keeps_them_and_still_learns() -> None:
    """Cross-part evaluation refits the shipped design on other data: blocks and C fixed, threshold searched."""
    from holdspace.scoring.data import load_calibration, train_test
    from holdspace.scoring.detector import featurize, item_from_record, train_model

    train, _ = train_test(load_calibration())
    sample = train[:300]
    batch = featurize([item_from_record(r) for r in sample], embed=False)
    choices = {label: ["fast", 0.1] for label in LEARNED_LABELS}
    model = train_model(sample, batch=batch, variants=("fast",), choices=choices)
    assert all(
        model.meta["choice"][label] == ["fast", 0.1]
        for label in LEARNED_LABELS
        if label in model.meta["choice"]
    )
    j = LEARNED_LABELS.index("closed_question")
    probs = model.probabilities(featurize([item_from_record(r) for r in sample], embed=False).X)[:, j]
    gold = [("closed_question" in r.moves) for r in sample]
    mean_pos = sum(p for p, g in zip(probs, gold, strict=True) if g) / max(1, sum(gold))
    mean_neg = sum(p for p, g in zip(probs, gold, strict=True) if not g) / max(1, len(gold) - sum(gold))
    assert mean_pos > mean_neg + 0.3


def test_fast_model_reads_static_token_vectors_but_no_sentence_embedding() -> None:
    from holdspace.scoring.detector import _variant_mask, feature_names

    names = feature_names()
    fast = {n for n, on in zip(names, _variant_mask("fast", len(names)), strict=True) if on}
    assert {f"static_{i}" for i in range(384)} <= fast
    assert not any(n.startswith(("emb_", "proto:", "knn:")) for n in fast)


def test_a_precision_weighted_threshold_sits_higher_than_the_f1_one() -> None:
    import numpy as np

    from holdspace.scoring.detector import THRESHOLD_BETA, _best_threshold

    # Out-of-fold probabilities: catching the 8 positives at 0.53 also raises 6 false alarms.
    y = np.array([1] * 10 + [1] * 8 + [0] * 6 + [0] * 40)
    p = np.array([0.9] * 10 + [0.53] * 8 + [0.53] * 6 + [0.2] * 40)
    t_f1, f1 = _best_threshold(y, p)
    t_half, f_half = _best_threshold(y, p, beta=0.5)
    assert t_f1 <= 0.53 < t_half <= 0.9
    assert 0 < f1 <= 1 and 0 < f_half <= 1
    assert THRESHOLD_BETA.get("judgment", 1.0) < 1.0 and THRESHOLD_BETA.get("reflection", 1.0) == 1.0


PLAIN_REPLIES = [
    ("I keep telling myself I'll cut back after this month.", "You've been putting it off until things calm down."),
    ("My daughter won't talk to me since the funeral.", "That silence from her is really hurting."),
    ("I smoked again on Friday. Just the one.", "So Friday was harder than the other days."),
    ("I haven't left the flat since Tuesday.", "You've been staying in a lot this week."),
    ("I stopped the tablets because they made me feel flat.", "The tablets took the edge off more than the low mood."),
    ("Everyone at work thinks I'm fine.", "Nobody there sees how much it's costing you."),
    ("I went to the meeting but left at the break.", "You got yourself there, and it was a lot to stay."),
    ("I don't really see what the fuss is about.", "You're not convinced it's a problem."),
]
JUDGING_REPLIES = [
    ("I smoked again on Friday. Just the one.", "Just the one. Sure. That's what you said last time."),
    ("I haven't left the flat since Tuesday.", "Well, sitting in the flat feeling sorry for yourself won't help."),
    ("I stopped the tablets because they made me feel flat.", "That was a pretty irresponsible thing to do."),
    ("I don't really see what the fuss is about.", "Come on, you know exactly what the fuss is about."),
]


def _judged(pairs: list[tuple[str, str]]) -> int:
    detector = get_move_detector()
    return sum(
        any(m.label == "judgment" for m in detector.detect(reply, [Utterance("client", "member", said)]))
        for said, reply in pairs
    )


def test_plain_reflections_are_not_read_as_judgment() -> None:
    assert _judged(PLAIN_REPLIES) <= 1


@pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 5 notes): the fast model is sure of itself on short blunt judgments and misses them",
)
def test_blunt_judgments_are_read_as_judgment() -> None:
    assert _judged(JUDGING_REPLIES) >= len(JUDGING_REPLIES) - 1
