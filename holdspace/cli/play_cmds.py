"""`holdspace play SCENARIO_ID [--replies FILE] [--model NAME] [--seed N] [--transcript OUT.jsonl]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from holdspace.services.practice import build_session, write_transcript


def play(
    scenario_id: Annotated[str, typer.Argument(metavar="SCENARIO_ID")],
    replies: Annotated[Path | None, typer.Option("--replies", help="one facilitator reply per line")] = None,
    model: Annotated[str | None, typer.Option("--model", help="persona backend: scripted | embedded | openai")] = None,
    seed: Annotated[int, typer.Option("--seed", help="fixes who speaks and which lines are chosen")] = 0,
    transcript: Annotated[Path | None, typer.Option("--transcript", help="write the transcript JSONL here")] = None,
) -> None:
    """Play a scenario: non-interactively from a file of replies, or interactively in the terminal."""
    try:
        session = build_session(scenario_id, seed=seed, backend=model)
    except KeyError as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None

    if replies is not None:
        try:
            lines = [line.strip() for line in replies.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"error: cannot read {replies}: {exc}", err=True)
            raise typer.Exit(1) from None
        lines = [line for line in lines if line]
        if not lines:
            typer.echo(f"error: {replies} has no replies (one facilitator reply per line)", err=True)
            raise typer.Exit(1)
    else:
        lines = None

    scenario = session.scenario
    typer.echo(f"# {scenario.title}\n")
    if lines is None:
        typer.echo(scenario.briefing.strip() + "\n")
    for record in session.records:
        _print_record(record)

    def next_reply() -> str | None:
        if lines is not None:
            return lines.pop(0) if lines else None
        try:
            return input("\nyou> ").strip() or next_reply()
        except EOFError:
            return None

    while not session.ended:
        reply = next_reply()
        if reply is None:
            break
        if lines is not None:
            typer.echo(f"\nfacilitator: {reply}")
        for record in session.play_turn(reply):
            if record["role"] != "facilitator":
                _print_record(record)
            elif lines is None and record.get("feedback"):
                typer.echo(f"  (coach: {record['feedback']})")
    if not session.ended:
        session.end("ended_early", "The replies ran out before the meeting's end.")
        _print_record(session.records[-1])

    summary = session.summary()
    typer.echo("\n" + _format_summary(summary))
    if transcript is not None:
        write_transcript(session, transcript)
        typer.echo(f"transcript written to {transcript}")


def _print_record(record: dict) -> None:
    if record["role"] == "system":
        typer.echo(f"\n[{record['text']}]")
    else:
        typer.echo(f"{record['speaker']}: {record['text']}")


def _format_summary(summary: dict) -> str:
    outcome = summary["outcome"]
    lines = [
        "Session summary",
        f"  participation evenness {outcome['participation_evenness']:.2f}; facilitator talk ratio "
        f"{outcome['facilitator_talk_ratio']:.2f}",
        f"  tension {outcome['final_tension']:.2f}, engagement {outcome['final_engagement']:.2f}, "
        f"safety {outcome['final_safety']:.2f}",
        "  objectives: " + ", ".join(f"{k} {'met' if v else 'not met'}" for k, v in outcome["objectives"].items()),
    ]
    scores = {k: v for k, v in summary["scores"].items() if v is not None}
    if scores:
        lines.append("  scores: " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items()))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("play")(play)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(typer.run(play))
