"""Benchmark retrieval: embedder throughput, cold index build, first query, query latency, memory.

Run from the checkout: `.venv/bin/python benchmarks/bench_retrieval.py` (add `--no-write` to only print).
Prints a Markdown table and replaces the "Retrieval" section of benchmarks/RESULTS.md. Everything runs in
a temporary data dir, so the checkout's data/ is never touched. The target from issue 4 is a query p50
of at most 20 ms once the index is loaded.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from holdspace.embeddings import get_embedder  # noqa: E402
from holdspace.retrieval import Retriever, load_corpus, load_eval_set  # noqa: E402
from holdspace.settings import Settings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "Retrieval"

#: Phrasings wrapped around the evaluation questions to get many distinct, realistic queries.
_FRAMES = ["{q}", "what should I do when {q}", "{q} - any advice?", "how do I handle it if {q}"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _queries(n: int) -> list[str]:
    base = [q.query for q in load_eval_set()]
    queries = [frame.format(q=q.rstrip("?.! ")) for frame in _FRAMES for q in base]
    while len(queries) < n:
        queries += queries
    return queries[:n]


def _machine() -> str:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"`{uname or platform.platform()}`, nproc {os.cpu_count()}, load average at start {load}"


def run(n_queries: int) -> list[tuple[str, str]]:
    """Measure everything; returns (metric, value) rows."""
    rows: list[tuple[str, str]] = []

    load_s = _timed(get_embedder)
    embedder = get_embedder()
    rows.append(("embedder load (ONNX + tokenizer, checksums verified)", _ms(load_s)))

    chunks = load_corpus([ROOT / "guide_corpus"])
    sentences = [s for c in chunks for s in c.sentence_texts][:400]
    passages = [c.embed_text for c in chunks]
    short_s = _timed(lambda: embedder.encode(sentences))
    long_s = _timed(lambda: embedder.encode(passages))
    rows.append(
        (
            f"embedder throughput, short texts (sentences, n={len(sentences)})",
            f"{len(sentences) / short_s:.0f} texts/s",
        )
    )
    rows.append(
        (
            f"embedder throughput, passages (chunks, n={len(passages)})",
            f"{len(passages) / long_s:.1f} texts/s",
        )
    )

    with tempfile.TemporaryDirectory(prefix="holdspace-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), content_dir=ROOT, chroma_url=None)
        # Chunk and sentence texts are embedded in batches, which never touch the single-string cache.
        cold = Retriever(settings, dirs=[ROOT / "guide_corpus"], embedder=embedder)
        build_s = _timed(cold.load)
        n_vectors = len(cold.chunks) + sum(len(c.sentence_texts) for c in cold.chunks)
        docs = len({c.source for c in cold.chunks})
        rows.append(
            (
                f"index build, cold from an empty dir ({docs} docs, {len(cold.chunks)} chunks, {n_vectors} vectors)",
                f"{build_s:.2f} s",
            )
        )

        warm = Retriever(settings, dirs=[ROOT / "guide_corpus"], embedder=embedder)
        reopen_s = _timed(warm.load)
        assert not warm.built_index
        rows.append(("index load when unchanged (hash matches; no embedding)", _ms(reopen_s)))

        first_s = _timed(lambda: warm.search("a member keeps interrupting others", k=4))
        rows.append(("first query after load", _ms(first_s)))

        queries = _queries(n_queries)
        uncached: list[float] = []
        for q in queries:
            embedder._cache.clear()  # measure the full path: tokenise, embed, chroma, BM25, fuse
            uncached.append(_timed(lambda q=q: warm.search(q, k=4)))
        for q in queries:  # fill the query-embedding cache, then measure repeated queries
            warm.search(q, k=4)
        cached = [_timed(lambda q=q: warm.search(q, k=4)) for q in queries]
        rows.append(
            (
                f"query latency p50, {len(queries)} queries (query embedding not cached)",
                _ms(statistics.median(uncached)),
            )
        )
        rows.append(("query latency p95 (not cached)", _ms(_percentile(uncached, 95))))
        rows.append(("query latency p50 (query embedding cached: repeated query)", _ms(statistics.median(cached))))
        rows.append(("query latency p95 (cached)", _ms(_percentile(cached, 95))))
    rows.append(("peak RSS of the benchmark process", f"{_peak_rss_mib():.0f} MiB"))
    return rows


def render(rows: list[tuple[str, str]]) -> str:
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}, by `.venv/bin/python "
        "benchmarks/bench_retrieval.py`. Embedder: 1 onnxruntime thread. Target: query p50 <= 20 ms.",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
    ]
    return "\n".join(lines) + "\n"


def update_results(section: str, path: Path = RESULTS) -> None:
    """Replace the Retrieval section of RESULTS.md (or append it), leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300, help="queries for the latency percentiles")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    section = render(run(max(200, args.queries)))
    print(section)
    if not args.no_write:
        update_results(section)
        print(f"updated {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
