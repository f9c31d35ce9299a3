"""`holdspace validate`, `holdspace schema export`, `holdspace scenarios`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from holdspace.content import export_schemas, get_library, load_library, scenario_card
from holdspace.content.loader import Problem
from holdspace.settings import get_settings


def validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or folders; default: all shipped content")] = None,
) -> None:
    """Validate scenarios, personas, the rubric and guide front matter; print `file:line: message`."""
    root = get_settings().content_dir
    extra: list[Path] = []
    problems: list[Problem] = []
    only: set[str] | None = None
    for path in paths or []:
        if not path.exists():
            problems.append(Problem(str(path), 1, "no such file or folder"))
        elif path.is_dir():
            extra.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml", ".md"}))
        else:
            extra.append(path)
    if paths:
        only = {str(p.resolve()) for p in extra}
    yaml_extra = [p for p in extra if p.suffix in {".yaml", ".yml"} and p.parent.name in {"personas", "scenarios"}
                  or p.name == "rubric.yaml"]
    library, found = load_library(root, yaml_extra)
    problems.extend(found)
    problems.extend(_check_corpus(root, [p for p in extra if p.suffix == ".md"] if paths else None))
    for p in extra:
        if p.suffix in {".yaml", ".yml"} and p not in yaml_extra:
            problems.append(Problem(str(p), 1, "not a persona, scenario or rubric file (put it in personas/ or "
                                    "scenarios/, or name it rubric.yaml)"))
    if only is not None:
        # Cross-file checks need the whole library; report only the files asked about.
        problems = [p for p in problems if str(Path(p.file).resolve()) in only or not Path(p.file).exists()]
    for problem in sorted(set(problems)):
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(set(problems))} problem(s) found.", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"ok: {len(library.personas)} personas, {len(library.scenarios)} scenarios"
        f"{', rubric' if library.rubric else ''}"
    )


def _check_corpus(root: Path, files: list[Path] | None) -> list[Problem]:
    """Front matter of guide documents (id, title, topics), when the retrieval package is present."""
    try:
        from holdspace.retrieval import check_front_matter  # type: ignore[attr-defined]
    except ImportError:
        return []
    targets = files if files is not None else sorted((root / "guide_corpus").glob("*.md"))
    return [Problem(*p) if not isinstance(p, Problem) else p for f in targets for p in check_front_matter(f)]


schema_app = typer.Typer(help="JSON Schemas for editors.", no_args_is_help=True)


@schema_app.command("export")
def schema_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write into")] = Path("schemas"),
) -> None:
    """Write persona, scenario and rubric JSON Schemas (the YAML files point at them)."""
    for path in export_schemas(out):
        typer.echo(f"wrote {path}")


scenarios_app = typer.Typer(help="The scenario library.", invoke_without_command=True)


@scenarios_app.callback()
def scenarios_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the scenario library."""
    if ctx.invoked_subcommand is not None:
        return
    library = get_library()
    cards = [scenario_card(library, s) for s in sorted(library.scenarios.values(), key=lambda s: s.id)]
    if as_json:
        typer.echo(json.dumps(cards, indent=2, ensure_ascii=False))
        return
    for s in sorted(library.scenarios.values(), key=lambda s: s.id):
        typer.echo(f"{s.id:24} {s.title}  [{s.group_type}; {s.challenge}; {s.stage}; {s.difficulty}]")


@scenarios_app.command("show")
def scenarios_show(
    scenario_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one scenario's card."""
    library = get_library()
    try:
        scenario = library.scenario(scenario_id)
    except KeyError as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(1) from None
    card = scenario_card(library, scenario)
    if as_json:
        typer.echo(json.dumps(card, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{scenario.title} ({scenario.id})\n")
    typer.echo(scenario.briefing.strip() + "\n")
    typer.echo("Members: " + ", ".join(f"{m['name']} ({m['persona']})" for m in card["members"]))
    typer.echo("Objectives:")
    for o in card["objectives"]:
        typer.echo(f"  - {o['description']} [{o['dimension']}]")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.add_typer(schema_app, name="schema")
    app.add_typer(scenarios_app, name="scenarios")
