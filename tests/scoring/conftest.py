"""Scoring tests share one data folder per session, so the guide index behind citations is built once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from holdspace.settings import reset_settings_cache


@pytest.fixture(scope="session")
def scoring_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scoring-data")


@pytest.fixture(autouse=True)
def _scoring_data_dir(scoring_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HOLDSPACE_DATA_DIR", str(scoring_data_dir))
    monkeypatch.delenv("HOLDSPACE_CHROMA_URL", raising=False)
    monkeypatch.setenv("HOLDSPACE_JUDGE_BACKEND", "none")
    reset_settings_cache()
    yield scoring_data_dir
    monkeypatch.undo()
    reset_settings_cache()  # a test that changed the environment leaves no settings behind for the next one


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[list, str], Path]:
    def write(records: list, name: str = "in.jsonl") -> Path:
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def scorer():  # noqa: ANN201 - the shared DeterministicScorer
    from holdspace.scoring import get_turn_scorer

    return get_turn_scorer()
