"""The `holdspace` command line. Each area registers its commands from its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="holdspace",
    help="holdspace: practise facilitating a peer support group.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that define `register(app)`; kept as a list so the CLI's shape is visible in one place.
_COMMAND_MODULES = [
    "holdspace.cli.content_cmds",  # validate, schema export, scenarios
    "holdspace.cli.play_cmds",  # play
    "holdspace.cli.retrieval_cmds",  # retrieve, ingest, eval retrieval
    "holdspace.cli.scoring_cmds",  # score, eval moves
    "holdspace.cli.model_cmds",  # models
    "holdspace.cli.storage_cmds",  # db, users, sessions
    "holdspace.cli.assignment_cmds",  # sets, assign
]

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # an area not built yet in this checkout
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def main() -> None:
    app()
