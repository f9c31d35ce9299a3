"""`holdspace validate` on the shipped content, and on copies broken in many different ways: each problem
must come out as `file:line: message` naming the right line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from holdspace.cli import app
from holdspace.settings import PROJECT_ROOT, reset_settings_cache

runner = CliRunner()


def run_validate(*args: str):
    return runner.invoke(app, ["validate", *args])


def test_shipped_content_is_valid() -> None:
    result = run_validate()
    assert result.exit_code == 0, result.output
    assert "problem" not in result.output


@pytest.fixture
def content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "content"
    for folder in ("personas", "scenarios"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    (root / "evaluation").mkdir()
    shutil.copy(PROJECT_ROOT / "evaluation" / "rubric.yaml", root / "evaluation" / "rubric.yaml")
    monkeypatch.setenv("HOLDSPACE_CONTENT_DIR", str(root))
    reset_settings_cache()
    return root


def line_of(path: Path, pattern: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"{pattern!r} not in {path}")


def replace_once(path: Path, pattern: str, new: str) -> int:
    """Replace the first line matching `pattern` (regex on one line) and return its line number."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            lines[i] = re.sub(pattern, new, line, count=1)
            path.write_text("\n".join(lines) + "\n")
            return i + 1
    raise AssertionError(f"{pattern!r} not in {path}")


def expect(result, path: Path, line: int, message: str) -> None:
    assert result.exit_code == 1, result.output
    wanted = f"{path}:{line}: "
    hits = [row for row in result.output.splitlines() if row.startswith(wanted)]
    assert hits, f"no `{wanted}` in:\n{result.output}"
    assert any(re.search(message, row) for row in hits), f"{message!r} not in {hits}"


def test_unknown_persona_reference(content: Path) -> None:
    path = content / "scenarios" / "dominating-member.yaml"
    line = replace_once(path, r"persona: [a-z-]+", "persona: nobody-by-this-name")
    expect(run_validate(), path, line, r"unknown persona 'nobody-by-this-name'")


def test_missing_field(content: Path) -> None:
    path = content / "scenarios" / "silent-group.yaml"
    lines = [row for row in path.read_text().splitlines() if not row.startswith("title:")]
    path.write_text("\n".join(lines) + "\n")
    first_key = next(i for i, row in enumerate(lines, start=1) if re.match(r"^[a-z_]+:", row))
    expect(run_validate(), path, first_key, r"missing field `title`")


def test_extra_field(content: Path) -> None:
    path = next((content / "personas").glob("*.yaml"))
    with path.open("a") as handle:
        handle.write("favourite_colour: teal\n")
    line = line_of(path, r"^favourite_colour:")
    expect(run_validate(), path, line, r"unknown field `favourite_colour`")


def test_wrong_type(content: Path) -> None:
    path = content / "scenarios" / "escalating-conflict.yaml"
    line = replace_once(path, r"^max_turns: \d+", "max_turns: ten")
    expect(run_validate(), path, line, r"`max_turns`: .*integer")


def test_duplicate_persona_id(content: Path) -> None:
    original = sorted((content / "personas").glob("*.yaml"))[0]
    copy = content / "personas" / "zz-copy.yaml"
    shutil.copy(original, copy)
    expect(run_validate(), copy, line_of(copy, r"^id:"), r"duplicate persona id")


def test_unknown_move_label(content: Path) -> None:
    path = content / "scenarios" / "dominating-member.yaml"
    with path.open("a") as handle:
        handle.write("move_effects:\n  shouting:\n    tension: 0.2\n")
    if path.read_text().count("move_effects:") > 1:
        pytest.skip("scenario already defines move_effects")
    expect(run_validate(), path, line_of(path, r"^  shouting:"), r"shouting")


def test_event_names_a_stranger(content: Path) -> None:
    path = content / "scenarios" / "relapse-disclosure.yaml"
    text = path.read_text()
    events_at = text.index("\nevents:")
    head, tail = text[:events_at], text[events_at:]
    tail = re.sub(r"speaker: \w+", "speaker: Zebedee", tail, count=1)
    path.write_text(head + tail)
    expect(run_validate(), path, line_of(path, r"speaker: Zebedee"), r"'Zebedee', who is not a member")


def test_unreachable_end_condition(content: Path) -> None:
    path = content / "scenarios" / "escalating-conflict.yaml"
    line = replace_once(path, r"when: [\"']?tension >= [0-9.]+[\"']?", 'when: "tension >= 1.5"')
    expect(run_validate(), path, line, r"unreachable")


def test_event_after_the_last_turn(content: Path) -> None:
    path = content / "scenarios" / "relapse-disclosure.yaml"
    line = replace_once(path, r"at_turn: \d+", "at_turn: 99")
    expect(run_validate(), path, line, r"can never happen")


def test_yaml_syntax_error(content: Path) -> None:
    path = content / "scenarios" / "silent-group.yaml"
    lines = path.read_text().splitlines()
    lines.insert(3, "briefing: [unclosed")
    path.write_text("\n".join(lines) + "\n")
    result = run_validate()
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(path))}:\d+: YAML syntax error", result.output), result.output


def test_too_few_authored_lines(content: Path) -> None:
    path = next(p for p in sorted((content / "personas").glob("*.yaml")))
    text = path.read_text()
    match = re.search(r"(?m)^  deflect:\n((?:    - .*\n|      .*\n)+)", text)
    assert match, "persona has no deflect lines"
    items = re.findall(r"(?m)^    - .*(?:\n      .*)*", match.group(1))
    path.write_text(text.replace(match.group(1), "\n".join(items[:2]) + "\n"))
    expect(run_validate(), path, line_of(path, r"^  deflect:"), r"at least 5")


def test_validate_named_file_reports_only_that_file(content: Path) -> None:
    good = content / "scenarios" / "silent-group.yaml"
    bad = content / "scenarios" / "dominating-member.yaml"
    replace_once(bad, r"persona: [a-z-]+", "persona: nobody-by-this-name")
    assert run_validate(str(good)).exit_code == 0
    assert run_validate(str(bad)).exit_code == 1


def test_guide_front_matter_problem_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "guide_corpus" / "broken.md"
    bad.parent.mkdir()
    bad.write_text("---\nid: broken\ntitle: A broken page\ntopcs: [typo]\n---\n# A broken page\n\n## One\ntext\n")
    result = run_validate(str(bad))
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+: .*topcs", result.output), result.output
