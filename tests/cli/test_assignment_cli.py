"""`holdspace sets add|list` and `holdspace assign`: the shipped library, a fresh database, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from holdspace.cli import app
from holdspace.services import assignments
from holdspace.storage import dispose_engines

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_engines(fresh_data_dir) -> Iterator[None]:
    dispose_engines()
    yield
    dispose_engines()


def ok(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_sets_add_list_and_assign() -> None:
    ok("users", "add", "tina", "--password-stdin", input="another quiet room\n")
    ok("users", "add", "terry", "--role", "trainer", "--password-stdin", input="a quiet room at dusk\n")
    out = ok(
        "sets",
        "add",
        "Week 1",
        "--scenario",
        "silent-group",
        "--scenario",
        "dominating-member",
        "--description",
        "Quiet rooms, loud members.",
    )
    assert "added set 'Week 1' with 2 scenarios: silent-group, dominating-member" in out
    ok("sets", "add", "Crisis", "-s", "relapse-disclosure")
    assert ok("sets", "list").splitlines() == [
        "Crisis\t1 scenario\trelapse-disclosure",
        "Week 1\t2 scenarios\tsilent-group,dominating-member",
    ]
    assert "assigned 'Week 1' to tina, due 2030-03-31" in ok("assign", "Week 1", "TINA", "--due", "2030-03-31")
    assert "due 2030-04-07" in ok("assign", "Week 1", "tina", "--due", "2030-04-07")  # again: the date changes
    (assignment,) = assignments.all_assignments()
    assert assignment.due_date == date(2030, 4, 7) and assignment.trainee_username == "tina"
    assert [i.scenario_id for i in assignment.items] == ["silent-group", "dominating-member"]


def test_cli_errors_are_one_line() -> None:
    ok("users", "add", "tina", "--password-stdin", input="another quiet room\n")
    ok("users", "add", "terry", "--role", "trainer", "--password-stdin", input="a quiet room at dusk\n")
    assert "Unknown scenario 'no-such-scenario'" in fails("sets", "add", "Week 1", "--scenario", "no-such-scenario")
    assert "--scenario" in fails("sets", "add", "Week 1")
    ok("sets", "add", "Week 1", "--scenario", "silent-group")
    assert "already exists" in fails("sets", "add", "Week 1", "--scenario", "silent-group")
    assert "no scenario set named 'Week 9'" in fails("assign", "Week 9", "tina")
    assert "no account named 'nobody'" in fails("assign", "Week 1", "nobody")
    assert "trainer account" in fails("assign", "Week 1", "terry")
    assert "YYYY-MM-DD" in fails("assign", "Week 1", "tina", "--due", "31/03/2030")
    assert "YYYY-MM-DD" in fails("assign", "Week 1", "tina", "--due", "2030-02-30")
    assert assignments.all_assignments() == []
