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
