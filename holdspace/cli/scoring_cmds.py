"""`holdspace score` and `holdspace eval moves`.

`score` reads JSONL (reply records, or a saved `holdspace play` transcript) and writes one scored record
per reply. A bad line is reported with its line number and field and skipped; the others are still
scored, and the exit code is 1 when any line failed (0 otherwise), so scripts notice partial input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from holdspace.cli.eval_group import attach

#: Replies scored per batch (embedding batches are 64 inside; this bounds memory for big files).
CHUNK = 512


def _err(message: str) -> None:
    typer.echo(message, err=True)


def score(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="reply records or a play transcript; - for standard input")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write scored records here (default: standard output)")
    ] = None,
    judge: Annotated[
        str,
        typer.Option(
            "--judge",
            help="none: offline deterministic scorer; llm: the configured judge model, merged with the detected moves",
        ),
    ] = "none",
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="also write a session summary (dimension means, strengths, growth areas, key moments) as JSON here",
        ),
    ] = None,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="never embed: the rules-and-shape model decides every move "
            "(several times faster, somewhat less accurate; see evaluation/REPORT.md)",
        ),
    ] = False,
) -> None:
    """Score facilitator replies: moves, rubric scores, feedback and guide citations, one JSON line each.

    Input records are {"id", "context": [{"speaker", "text"}...], "reply"}; speakers are `facilitator` or a
    member's name (`helper`/`client` for one-to-one). A transcript written by `holdspace play` is detected
    and each facilitator turn is scored with the turns before it. Exit code 1 if any line could not be read.
    """
    if judge not in ("none", "llm"):
        _err(f"error: --judge must be none or llm, not {judge!r}")
        raise typer.Exit(2)
    try:
        if str(input_path) == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = input_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"error: cannot read {input_path}: {exc}")
        raise typer.Exit(1) from None

    from holdspace.scoring.records import read_requests

    requests, errors, fmt = read_requests(lines)
    for error in errors:
        _err(f"error: {input_path}:{error}")
    if fmt == "transcript":
        _err(f"{input_path}: transcript detected; scoring {len(requests)} facilitator turns")

    from holdspace.scoring.parallel import MIN_PARALLEL, ParallelScorer, worker_count

    scored_all: list[dict] = []
    if judge == "none" and len(requests) >= MIN_PARALLEL and worker_count() > 1:
        # A large file on the default judge: one worker process per core (same results, about 1.5x faster).
        with ParallelScorer(fast=fast) as workers:
            scored_all = workers.score(requests)
    else:
        scorer = _make_scorer(judge, fast)
        for start in range(0, len(requests), CHUNK):
            scored_all.extend(result.to_json() for result in scorer.score_many(requests[start : start + CHUNK]))
    out_lines = [json.dumps(record, ensure_ascii=False) for record in scored_all]
    text = "\n".join(out_lines) + ("\n" if out_lines else "")
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            _err(f"error: cannot write {output}: {exc}")
            raise typer.Exit(1) from None
        _err(f"scored {len(out_lines)} replies -> {output}" + (f" ({len(errors)} lines failed)" if errors else ""))
    if judge == "llm":
        judged = sum(1 for record in scored_all if record.get("judge") == "llm")
        _err(f"LLM judge: {judged} of {len(scored_all)} replies judged by the model, the rest by the default judge")
    if summary is not None:
        from holdspace.scoring import summarise_session

        texts = {r.id: r.reply for r in requests}
        rows = [r | {"text": texts.get(r["id"], "")} for r in scored_all]
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(summarise_session(rows), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if errors:
        raise typer.Exit(1)


def _make_scorer(judge: str, fast: bool = False):  # noqa: ANN202 - returns a Scorer
    from holdspace.scoring import JudgeUnavailable, LLMJudgeScorer, get_turn_scorer

    _warm_embedder()
    base = get_turn_scorer()
    if fast:
        base = base.fast()
    if judge == "llm":
        try:
            scorer = LLMJudgeScorer(base)
        except JudgeUnavailable as exc:
            _err(f"warning: the LLM judge is unavailable ({exc}); scoring with the default judge instead")
        else:
            from holdspace.settings import get_settings

            if get_settings().judge_backend == "embedded":
                # Measured (session 4): 0 usable verdicts in 30 calibration replies, 6-30 s each.
                _err(
                    "note: the embedded judge is SmolLM2-135M, too small to judge a reply: expect most replies to "
                    "fall back to the default judge (each says so in its notes). For real verdicts set "
                    "HOLDSPACE_JUDGE_BACKEND=openai with a capable model."
                )
            return scorer
    return base


def _warm_embedder() -> None:
    """Batch scoring is the one place all cores help: load the shared embedder with them if nobody has yet."""
    try:
        from holdspace import embeddings

        if embeddings._embedder is None:
            embeddings.get_embedder(threads=max(1, min(4, os.cpu_count() or 1)))
    except Exception:  # the scorer reports a missing model itself
        pass


def eval_moves(
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="refit the move and score weights on the train split and save them to holdspace/scoring/artifacts/",
        ),
    ] = False,
    cross: Annotated[
        bool, typer.Option("--cross/--no-cross", help="also train on all parts but one and test on the held-out part")
    ] = True,
    judge: Annotated[
        bool, typer.Option("--judge/--no-judge", help="measure the LLM judge when one is configured")
    ] = True,
) -> None:
    """Measure the move detector and the rubric scorer on the calibration test split; writes evaluation/REPORT.md."""
    from holdspace.scoring.report import REPORT_PATH, write_report

    _warm_embedder()
    try:
        _, ok = write_report(retrain=retrain, cross=cross, judge=judge, echo=_err)
    except RuntimeError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"wrote {REPORT_PATH}" + ("" if ok else " (some targets are not met)"))


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    eval_app = attach(app)
    eval_app.command("moves")(eval_moves)
