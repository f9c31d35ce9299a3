"""Shared fixtures: every test runs against a fresh data folder, never the checkout's data/."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdspace.settings import PROJECT_ROOT, reset_settings_cache


@pytest.fixture(autouse=True)
def fresh_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("HOLDSPACE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOLDSPACE_CONTENT_DIR", str(PROJECT_ROOT))
    reset_settings_cache()
    yield data_dir
    reset_settings_cache()
