"""The shared `holdspace eval` group: retrieval and scoring each add a command to it.

Both command modules call `attach(app)`; the guard makes sure the group is added to the main app once,
whichever module registers first.
"""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Measure the scorer and retrieval", no_args_is_help=True)


def attach(app: typer.Typer) -> typer.Typer:
    """Add `eval_app` to `app` as the `eval` group unless it is already there; returns `eval_app`."""
    if not any(group.typer_instance is eval_app for group in app.registered_groups):
        app.add_typer(eval_app, name="eval")
    return eval_app
