"""The acceptance test: the shipped detector meets the issue's F1 targets on the calibration test split.

It loads the held-out split (deterministic by id), runs the shipped detector and checks the same numbers
`holdspace eval moves` writes to evaluation/REPORT.md.
"""

from __future__ import annotations

import pytest

from holdspace.scoring.data import load_calibration, train_test
from holdspace.scoring.detector import LEARNED_LABELS, item_from_record
from holdspace.scoring.report import MIN_SUPPORT, OTHER_TARGET, TARGETS, metrics


@pytest.fixture(scope="module")
def table() -> dict:
    from holdspace.scoring import get_turn_scorer

    _, test = train_test(load_calibration())
    if len(test) < 100:
        pytest.skip("calibration set not present")
    detector = get_turn_scorer().detector
    predicted = detector.detect_items([item_from_record(r) for r in test])
    rows = metrics([r.moves for r in test], [{m.label for m in p} for p in predicted], LEARNED_LABELS)
    return {m.label: m for m in rows}


#: Targets the shipped detector does not meet yet (issue 5 stays open; see evaluation/REPORT.md). Strict, so
#: the marker has to go as soon as a target is met.
NOT_MET = pytest.mark.xfail(strict=True, reason="issue 5: F1 target not met yet, see evaluation/REPORT.md")
#: What the shipped detector measures today: a floor it must not fall below while the targets are worked on.
FLOORS = {
    "reflection": 0.71,
    "affirmation": 0.68,
    "summary": 0.78,
    "self_disclosure": 0.85,
    "information": 0.73,
    "advice": 0.73,
    "invite": 0.72,
    "redirect": 0.76,
    "ground_rules": 0.75,
    "referral": 0.76,
    "de_escalation": 0.81,
    "judgment": 0.70,
    "open_question": 0.82,
    "closed_question": 0.82,
}
NOT_MET_YET: set[str] = set()


@pytest.mark.parametrize(
    "label", [pytest.param(label, marks=NOT_MET) if label in NOT_MET_YET else label for label in sorted(TARGETS)]
)
def test_question_and_reflection_targets(table: dict, label: str) -> None:
    m = table[label]
    assert m.f1 >= TARGETS[label], f"{label}: F1 {m.f1:.2f} < {TARGETS[label]} (support {m.support})"


def test_every_well_supported_move_meets_its_target(table: dict) -> None:
    failing = {
        label: round(m.f1, 2)
        for label, m in table.items()
        if label not in TARGETS and m.support >= MIN_SUPPORT and m.f1 < OTHER_TARGET
    }
    assert not failing, f"moves under F1 {OTHER_TARGET} with >= {MIN_SUPPORT} test examples: {failing}"


@pytest.mark.parametrize("label", sorted(FLOORS))
def test_detector_does_not_fall_below_its_measured_floor(table: dict, label: str) -> None:
    assert table[label].f1 >= FLOORS[label], f"{label}: F1 {table[label].f1:.2f} fell below {FLOORS[label]}"
