"""How every command reports a user error: one `error:` line on stderr and exit code 1, no traceback."""

from __future__ import annotations

import typer


def fail(message: str) -> typer.Exit:
    """Print `error: message` and return the Exit to raise (`raise fail("...")`)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)
