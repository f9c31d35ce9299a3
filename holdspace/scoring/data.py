"""The labelled calibration set and its deterministic train/test split.

A record's split depends only on its id (a salted SHA-1), so adding records never moves old ones between
train and test, and every run of `holdspace eval moves` measures on the same held-out replies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from holdspace.content.models import DIMENSIONS, MOVE_LABELS
from holdspace.settings import PROJECT_ROOT

CALIBRATION_DIR = PROJECT_ROOT / "evaluation" / "calibration"
#: Each annotator's own move labels (`{"id", "moves"}` per line): `author.jsonl` as the replies were written,
#: `second.jsonl` from a blind second annotator, `third.jsonl` where those two disagreed, `codebook_rule.jsonl`
#: where the codebook's question-form rule was applied after the vote. The calibration
#: files hold the majority per label.
ANNOTATIONS_DIR = PROJECT_ROOT / "evaluation" / "annotations"
TEST_FRACTION = 0.30
_SALT = "holdspace-calibration-split-v1"


@dataclass(frozen=True)
class CalibrationRecord:
    id: str
    setting: str
    context: list[dict]
    reply: str
    moves: frozenset[str]
    depth: str | None  # depth of the reflection, when there is one
    scores: dict[str, int | None] = field(default_factory=dict)
    part: str = ""

    @property
    def split(self) -> str:
        return split_of(self.id)


def split_of(record_id: str) -> str:
    """'test' for about 30% of ids, 'train' for the rest; stable across runs and machines."""
    digest = hashlib.sha1(f"{_SALT}:{record_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if u < TEST_FRACTION else "train"


def _parse(raw: dict, part: str) -> CalibrationRecord:
    moves = raw.get("moves") or []
    labels = frozenset(m["label"] for m in moves if m.get("label") in MOVE_LABELS)
    depth = next((m.get("depth") for m in moves if m.get("label") == "reflection" and m.get("depth")), None)
    scores = {dim: raw.get("scores", {}).get(dim) for dim in DIMENSIONS}
    return CalibrationRecord(
        id=str(raw["id"]),
        setting=str(raw.get("setting", "group")),
        context=list(raw.get("context") or []),
        reply=str(raw.get("reply", "")),
        moves=labels,
        depth=depth,
        scores=scores,
        part=part,
    )


def load_calibration(folder: Path | None = None) -> list[CalibrationRecord]:
    """Every parseable record of `evaluation/calibration/*.jsonl`, in file order; duplicate ids keep the
    first. Lines that do not parse are skipped (the files may be mid-edit)."""
    folder = folder or CALIBRATION_DIR
    out: list[CalibrationRecord] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")):
        part = path.stem.removeprefix("part_")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                record = _parse(raw, part)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if record.id in seen or not record.moves:
                continue
            seen.add(record.id)
            out.append(record)
    return out


def load_annotations(folder: Path | None = None) -> dict[str, dict[str, frozenset[str]]]:
    """Move labels per annotator (file stem) and record id; unreadable lines are skipped."""
    folder = folder or ANNOTATIONS_DIR
    out: dict[str, dict[str, frozenset[str]]] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        labels: dict[str, frozenset[str]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                raw = json.loads(line)
                labels[str(raw["id"])] = frozenset(m["label"] for m in raw["moves"] if m.get("label") in MOVE_LABELS)
            except (ValueError, KeyError, TypeError):
                continue
        out[path.stem] = labels
    return out


def train_test(records: list[CalibrationRecord]) -> tuple[list[CalibrationRecord], list[CalibrationRecord]]:
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    return train, test


def fingerprint(records: list[CalibrationRecord]) -> str:
    """A short hash of the records' ids and labels: the trained model records what it was trained on."""
    digest = hashlib.sha1()
    for r in sorted(records, key=lambda r: r.id):
        digest.update(f"{r.id}|{r.reply}|{','.join(sorted(r.moves))}|{r.depth}\n".encode())
    return digest.hexdigest()[:16]
