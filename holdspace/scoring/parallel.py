"""Scoring a large file with every core: worker processes, each with its own copy of the models.

One process cannot use two cores well here: the rules, rubric and citations are Python (one core under the
GIL) and only the sentence embedding runs on both. Two workers, each embedding on one core, keep both busy
the whole time. Workers are spawned, not forked (onnxruntime's thread pools do not survive a fork), and the
parent makes sure the retrieval index and the move model exist before they start, so two workers never
build the same thing at once. The results are identical to scoring the file in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from typing import Any

from holdspace.scoring.scorer import ScoreRequest

#: Below this many replies the workers' start-up (about two seconds) costs more than it saves.
MIN_PARALLEL = 400
#: Replies sent to a worker at a time.
BATCH = 128

_worker_scorer: Any = None


def worker_count() -> int:
    """Worker processes for a large file: one per core, at most four, none on a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores))


def _init_worker(fast: bool) -> None:
    global _worker_scorer
    from holdspace.embeddings import get_embedder
    from holdspace.scoring import get_turn_scorer

    get_embedder(threads=1)  # one core each: the workers share the machine between them
    scorer = get_turn_scorer()
    _worker_scorer = scorer.fast() if fast else scorer


def _score_batch(batch: list[ScoreRequest]) -> list[dict[str, Any]]:
    return [r.to_json() for r in _worker_scorer.score_many(batch)]


def _prepare_shared_files() -> None:
    """Build (or check) what the workers would otherwise race to build: the guide index, the move model and
    the static token table."""
    from holdspace.embeddings import get_embedder
    from holdspace.retrieval import get_retriever
    from holdspace.scoring.detector import load_model

    get_embedder().static_table()
    load_model()
    get_retriever().load()


class ParallelScorer:
    """A pool of scoring workers, started once and reused for every batch of a file."""

    def __init__(self, workers: int | None = None, fast: bool = False) -> None:
        self.workers = workers or worker_count()
        _prepare_shared_files()
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(self.workers, initializer=_init_worker, initargs=(fast,))
        # Load the models in every worker now, so the first batches do not wait for it.
        self._pool.map(_score_batch, [[ScoreRequest("warm-up", "How has the week been?", [])]] * self.workers)

    def score(self, requests: Sequence[ScoreRequest]) -> list[dict[str, Any]]:
        batches = [list(requests[i : i + BATCH]) for i in range(0, len(requests), BATCH)]
        return [record for scored in self._pool.imap(_score_batch, batches) for record in scored]

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def __enter__(self) -> ParallelScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
