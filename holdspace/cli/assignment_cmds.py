"""`holdspace sets add|list` and `holdspace assign`: scenario sets and assignments, through the same
service the trainer page uses."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from holdspace.cli.errors import fail as _fail

sets_app = typer.Typer(help="Scenario sets: named selections of library scenarios.", no_args_is_help=True)


@sets_app.command("add")
def sets_add(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help="a scenario id (repeat, in the order to practise them)"),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="what the set practises")] = "",
) -> None:
    """Create a scenario set from library scenarios, e.g. `sets add "Week 1" --scenario silent-group`."""
    from holdspace.services.assignments import AssignmentError, create_set
    from holdspace.storage import ensure_database

    if not scenario:
        raise _fail("give at least one --scenario ID (see `holdspace scenarios`)")
    try:
        ensure_database()
        created = create_set(name, scenario, description)
    except AssignmentError as exc:
        raise _fail(str(exc)) from None
    count = len(created.scenario_ids)
    ids = ", ".join(created.scenario_ids)
    typer.echo(f"added set {created.name!r} with {count} scenario{'s' if count != 1 else ''}: {ids}")


@sets_app.command("list")
def sets_list() -> None:
    """List the scenario sets: name, number of scenarios, their ids in order."""
    from holdspace.services.assignments import list_sets
    from holdspace.storage import ensure_database

    ensure_database()
    for scenario_set in list_sets():
        count = len(scenario_set.scenario_ids)
        ids = ",".join(scenario_set.scenario_ids)
        typer.echo(f"{scenario_set.name}\t{count} scenario{'s' if count != 1 else ''}\t{ids}")


def assign(
    set_name: Annotated[str, typer.Argument(metavar="SET_NAME")],
    username: Annotated[str, typer.Argument(metavar="USERNAME")],
    due: Annotated[
        str | None, typer.Option("--due", metavar="YYYY-MM-DD", help="due date (assigning again changes it)")
    ] = None,
) -> None:
    """Assign a scenario set to a trainee, optionally with a due date."""
    from holdspace.services.accounts import list_users, normalise_username
    from holdspace.services.assignments import AssignmentError, assign_set, find_set
    from holdspace.storage import ensure_database

    due_date: date | None = None
    if due is not None:
        try:
            if len(due.strip()) != 10:
                raise ValueError
            due_date = date.fromisoformat(due.strip())
        except ValueError:
            raise _fail(f"--due is a date written YYYY-MM-DD, e.g. 2026-03-31 (got {due!r})") from None
    ensure_database()
    name = normalise_username(username)
    user = next((u for u in list_users() if u.username == name), None)
    if user is None:
        raise _fail(f"no account named {name!r} (see `holdspace users list`)")
    try:
        scenario_set = find_set(set_name)
    except AssignmentError as exc:
        raise _fail(f"{exc} See `holdspace sets list`.") from None
    try:
        assignment = assign_set(scenario_set.id, user.id, due_date)
    except AssignmentError as exc:
        raise _fail(str(exc)) from None
    when = f", due {assignment.due_date.isoformat()}" if assignment.due_date else ""
    typer.echo(f"assigned {assignment.set_name!r} to {assignment.trainee_username}{when}")


def register(app: typer.Typer) -> None:
    app.add_typer(sets_app, name="sets")
    app.command("assign")(assign)
