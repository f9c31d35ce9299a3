"""`holdspace retrieve`, `holdspace ingest` and `holdspace eval retrieval`.

Heavy imports (chroma, onnxruntime, LangChain) happen inside the commands so `holdspace --help` and the
other commands stay quick.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import typer

from holdspace.cli.errors import fail as _fail
from holdspace.cli.eval_group import attach


def _announce_build(n_texts: int) -> None:
    typer.echo(
        f"Indexing the guide: embedding {n_texts} passages and sentences (once per corpus change)…", err=True
    )


def retrieve(
    query: str = typer.Argument(..., help="A question or situation, e.g. 'a member keeps interrupting'"),
    k: int = typer.Option(4, "--k", "-k", min=1, max=50, help="How many passages to return"),
    as_json: bool = typer.Option(False, "--json", help='Print [{"source","section","text","score"}...]'),
) -> None:
    """Find the guide passages that answer QUERY, best first."""
    from holdspace.embeddings import ModelPackageError
    from holdspace.retrieval import CorpusError, get_retriever

    try:
        passages = get_retriever(on_build=_announce_build).search(query, k=k)
    except (CorpusError, ModelPackageError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([p.contract() for p in passages], ensure_ascii=False, indent=2))
        return
    if not passages:
        typer.echo("No passages found (is guide_corpus/ empty, or the query only stopwords?).")
        return
    for rank, p in enumerate(passages, start=1):
        typer.echo(f"{rank}. {p.title} — {p.section}  [{p.source}, score {p.score:.3f}]")
        typer.echo(textwrap.indent(textwrap.fill(" ".join(p.text.split()), width=96), "   "))
        typer.echo("")


def ingest(
    paths: list[Path] = typer.Argument(..., help="Markdown (.md), text (.txt) or PDF files"),
) -> None:
    """Add your own guide documents to the corpus (they are searched and cited like the guide)."""
    from holdspace.retrieval import ingest_paths
    from holdspace.settings import get_settings

    done, failed = ingest_paths(paths)
    target = get_settings().data_dir / "ingested"
    for result in done:
        verb = "replaced" if result.replaced else "added"
        typer.echo(f'{verb} {result.doc_id}: "{result.title}" from {result.source}')
    for error in failed:
        typer.echo(f"error: {error}", err=True)
    if done:
        typer.echo(f"{len(done)} document(s) in {target}; the index is rebuilt on the next search.")
    if failed:
        typer.echo(f"{len(failed)} file(s) not added.", err=True)
        raise typer.Exit(code=1)


def eval_retrieval(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
    eval_file: Path | None = typer.Option(None, "--eval-file", help="Labelled questions (YAML)"),
    report: Path | None = typer.Option(
        None, "--report", help="Where to write the Markdown report [default: evaluation/RETRIEVAL_REPORT.md]"
    ),
) -> None:
    """Recall@1, recall@3 and MRR of retrieval on the labelled questions; writes the report."""
    from holdspace.embeddings import ModelPackageError
    from holdspace.retrieval import evaluate_variants, get_retriever, load_eval_set, render_report
    from holdspace.retrieval._eval import EVAL_FILE, REPORT_FILE

    eval_path = eval_file or EVAL_FILE
    try:
        questions = load_eval_set(eval_path)
        retriever = get_retriever(on_build=_announce_build)
        results = evaluate_variants(retriever, questions)
    except (ValueError, ModelPackageError) as exc:  # CorpusError is a ValueError
        raise _fail(str(exc)) from None
    report_path = report or REPORT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_report(results, retriever, eval_path), encoding="utf-8")

    chosen = results[0]
    misses = chosen.misses(3)
    if as_json:
        payload = {
            **chosen.summary(),
            "misses": [
                {
                    "query": o.query,
                    "relevant": o.relevant,
                    "rank": o.rank,
                    "top3": [{"source": p.source, "section": p.section} for p in o.top[:3]],
                }
                for o in misses
            ],
            "compare": [r.summary() for r in results],
            "report": str(report_path),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    width = max(len(r.name) for r in results)
    typer.echo(f"retrieval on {len(chosen.outcomes)} questions ({eval_path}):")
    for r in results:
        o = r.summary()
        figures = f"recall@1 {o['recall@1']:.3f}  recall@3 {o['recall@3']:.3f}  MRR {o['mrr']:.3f}"
        typer.echo(f"  {r.name:<{width}}  {figures}")
    typer.echo(f"misses at 3 ({chosen.name}): {len(misses)}")
    for o in misses:
        got = ", ".join(f"{p.source} › {p.section}" for p in o.top[:3])
        rank = f"rank {o.rank}" if o.rank else "not in top 10"
        typer.echo(f"  - {o.query!r}: wanted {', '.join(o.relevant)} ({rank}); got {got}")
    typer.echo(f"report: {report_path}")


def register(app: typer.Typer) -> None:
    """Add retrieve, ingest and `eval retrieval` to the main app."""
    app.command("retrieve")(retrieve)
    app.command("ingest")(ingest)
    attach(app).command("retrieval")(eval_retrieval)
