"""Content: personas, scenarios and the rubric, as validated data."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from holdspace.content.loader import ContentError, Library, Problem, load_library
from holdspace.content.models import (
    DIMENSIONS,
    INTENTS,
    MOVE_LABELS,
    Persona,
    Rubric,
    Scenario,
)
from holdspace.settings import get_settings

__all__ = [
    "DIMENSIONS",
    "INTENTS",
    "MOVE_LABELS",
    "ContentError",
    "Library",
    "Persona",
    "Problem",
    "Rubric",
    "Scenario",
    "export_schemas",
    "get_library",
    "load_library",
    "scenario_card",
]

SCHEMA_MODELS = {"persona": Persona, "scenario": Scenario, "rubric": Rubric}


@lru_cache(maxsize=4)
def _cached_library(root: str) -> Library:
    library, problems = load_library(Path(root))
    if problems and not library.scenarios:
        raise ContentError(problems)
    return library


def get_library(root: Path | None = None) -> Library:
    """The shipped (or configured) content, loaded once per process. Invalid scenarios are left out;
    `holdspace validate` reports why."""
    return _cached_library(str(root or get_settings().content_dir))


def export_schemas(folder: Path) -> list[Path]:
    """Write one JSON Schema per content model, for editors (`# yaml-language-server: $schema=...`)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMA_MODELS.items():
        path = folder / f"{name}.schema.json"
        schema = model.model_json_schema(by_alias=True)
        schema["title"] = f"holdspace {name}"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def scenario_card(library: Library, scenario: Scenario) -> dict:
    """The `holdspace scenarios show ID --json` record."""
    return {
        "id": scenario.id,
        "title": scenario.title,
        "group_type": scenario.group_type,
        "stage": scenario.stage,
        "difficulty": scenario.difficulty,
        "objectives": [
            {"id": o.id, "description": o.description, "dimension": o.dimension} for o in scenario.objectives
        ],
        "members": [{"name": m.name, "persona": m.persona} for m in scenario.members],
    }
