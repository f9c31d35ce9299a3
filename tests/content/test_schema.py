"""The JSON Schemas editors use stay in step with the pydantic models, and the YAML points at them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from holdspace.cli import app
from holdspace.settings import PROJECT_ROOT


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schema", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for fresh in tmp_path.glob("*.schema.json"):
        committed = PROJECT_ROOT / "schemas" / fresh.name
        assert committed.read_text() == fresh.read_text(), f"run `holdspace schema export` ({fresh.name})"


def test_every_content_file_points_at_its_schema() -> None:
    for folder, schema in (("personas", "persona"), ("scenarios", "scenario")):
        for path in (PROJECT_ROOT / folder).glob("*.yaml"):
            assert f"$schema=../schemas/{schema}.schema.json" in path.read_text().splitlines()[0], path
