"""`holdspace db upgrade`, `holdspace users add|list` and `holdspace sessions export`: the same services
the web app uses."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from holdspace.cli.errors import fail as _fail

db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts: add trainers and trainees.", no_args_is_help=True)
sessions_app = typer.Typer(help="Practice sessions: export transcripts.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    url: Annotated[str | None, typer.Option("--url", help="database URL (default: from the settings)")] = None,
) -> None:
    """Create the database or bring it up to the newest schema."""
    from holdspace.storage import database_url, upgrade_database

    try:
        revision = upgrade_database(url)
    except Exception as exc:  # noqa: BLE001 - a broken URL or server is reported, not traced
        raise _fail(f"cannot upgrade {_redact(database_url(url))}: {exc}") from None
    typer.echo(f"database at revision {revision} ({_redact(database_url(url))})")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision (empty when it was never upgraded)."""
    from holdspace.storage import current_revision, head_revision

    typer.echo(f"current: {current_revision() or '-'}  head: {head_revision()}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(metavar="USERNAME")],
    role: Annotated[str, typer.Option("--role", help="trainee | trainer")] = "trainee",
    display_name: Annotated[str, typer.Option("--display-name", help="the name shown in the app")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input (first line)")
    ] = False,
) -> None:
    """Add an account. The password is prompted for (twice), or read from standard input."""
    from holdspace.services.accounts import AccountError, add_user, check_username, password_problems
    from holdspace.storage import ensure_database

    if role not in ("trainee", "trainer"):
        raise _fail("--role is trainee or trainer")
    try:
        name = check_username(username)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        while True:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            problems = password_problems(password, name)
            if not problems:
                break
            typer.echo(" ".join(problems), err=True)
    try:
        ensure_database()
        user = add_user(name, password, role=role, display_name=display_name)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"added {user.role} {user.username}")


@users_app.command("list")
def users_list() -> None:
    """List the accounts."""
    from holdspace.services.accounts import list_users
    from holdspace.storage import ensure_database

    ensure_database()
    for user in list_users():
        typer.echo(f"{user.username}\t{user.role}\t{user.display_name}")


@sessions_app.command("export")
def sessions_export(
    session_id: Annotated[int, typer.Argument(metavar="SESSION_ID")],
    fmt: Annotated[str, typer.Option("--format", help="md | pdf | json")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file to write (default: stdout)")] = None,
    username: Annotated[str | None, typer.Option("--user", help="export as this user (default: a trainer)")] = None,
) -> None:
    """Export a session's transcript and scores."""
    from holdspace.services import exports
    from holdspace.services.accounts import UserInfo, list_users
    from holdspace.services.reports import build_report
    from holdspace.services.sessions_service import SessionError

    if fmt not in ("md", "pdf", "json"):
        raise _fail("--format is md, pdf or json")
    users = list_users()
    viewer: UserInfo | None
    if username:
        viewer = next((u for u in users if u.username == username.strip().lower()), None)
    else:  # an operator at the command line reads as a trainer would
        viewer = next((u for u in users if u.is_trainer), None)
    if viewer is None:
        raise _fail("no such user" if username else "no trainer account exists")
    try:
        report = build_report(session_id, viewer)
    except SessionError as exc:
        raise _fail(str(exc)) from None
    data: bytes = {
        "md": lambda: exports.to_markdown(report).encode("utf-8"),
        "pdf": lambda: exports.to_pdf(report),
        "json": lambda: exports.to_json(report),
    }[fmt]()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(sessions_app, name="sessions")
