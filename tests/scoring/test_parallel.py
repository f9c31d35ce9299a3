"""A large file is scored by worker processes, with exactly the results of one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from holdspace.scoring import ScoreRequest, get_turn_scorer, parallel
from holdspace.scoring.data import load_calibration
from holdspace.scoring.feedback import CitationCache
from holdspace.scoring.text import to_utterances


def _requests(n: int) -> list[ScoreRequest]:
    return [ScoreRequest(r.id, r.reply, to_utterances(r.context)) for r in load_calibration()[:n]]


def test_citations_do_not_depend_on_the_order_of_a_file() -> None:
    scorer = get_turn_scorer()
    requests = _requests(160)
    forward = {r.id: r.citations for r in scorer.score_many(requests)}
    scorer.citations = CitationCache()  # forget what the forward pass cached
    backward = {r.id: r.citations for r in scorer.score_many(requests[::-1])}
    assert forward == backward


def test_worker_processes_score_exactly_like_one_process() -> None:
    requests = _requests(2 * parallel.BATCH + 9)
    in_process = [r.to_json() for r in get_turn_scorer().score_many(requests)]
    with parallel.ParallelScorer(workers=2) as workers:
        assert workers.score(requests) == in_process


def test_the_score_command_uses_workers_for_a_large_file(
    write_jsonl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from holdspace.cli import app

    started: list[int] = []
    real_init = parallel.ParallelScorer.__init__

    def counting_init(self, workers=None, fast=False):  # noqa: ANN001
        started.append(1)
        real_init(self, workers=2, fast=fast)

    monkeypatch.setattr(parallel, "MIN_PARALLEL", 3)
    monkeypatch.setattr(parallel, "worker_count", lambda: 2)
    monkeypatch.setattr(parallel.ParallelScorer, "__init__", counting_init)
    records = [{"id": r.id, "context": r.context, "reply": r.reply} for r in load_calibration()[:5]]
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["score", str(write_jsonl(records)), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert started and [r["id"] for r in rows] == [r["id"] for r in records]
    expected = [r.to_json() for r in get_turn_scorer().score_many(_requests(5))]
    assert rows == expected
