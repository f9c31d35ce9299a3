"""AppTest fixtures: the real app.py against a fresh database, the fixture library and scripted members."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from holdspace.engine.moves import RuleMoveDetector
from holdspace.services import accounts, practice
from holdspace.settings import PROJECT_ROOT, reset_settings_cache
from holdspace.storage import dispose_engines, upgrade_database

APP = PROJECT_ROOT / "app.py"
PAGES = "holdspace/ui/pages"
FIXTURE_CONTENT = PROJECT_ROOT / "tests" / "storage" / "fixture_content"
TRAINER_PASSWORD = "a quiet room at dusk"
TRAINEE_PASSWORD = "another quiet room"


@pytest.fixture(scope="session")
def content_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("content")
    for folder in ("personas", "scenarios"):
        shutil.copytree(FIXTURE_CONTENT / folder, root / folder)
    for folder in ("guide_corpus", "evaluation"):
        (root / folder).symlink_to(PROJECT_ROOT / folder)
    return root


@pytest.fixture(autouse=True)
def ui_env(fresh_data_dir: Path, content_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOLDSPACE_CONTENT_DIR", str(content_root))
    monkeypatch.setenv("HOLDSPACE_PERSONA_BACKEND", "scripted")
    monkeypatch.delenv("HOLDSPACE_DATABASE_URL", raising=False)
    # The engine's rules and no scorer unless a test injects one: fast, and independent of the trained
    # detector and the scorer (the browser tests run those, through the real app).
    monkeypatch.setattr(practice, "default_detector", RuleMoveDetector)
    monkeypatch.setattr(practice, "default_scorer", lambda: None)
    accounts.reset_throttle()
    # Cheap argon2 parameters: the tests check behaviour, not the cost of guessing (the app keeps the defaults).
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    reset_settings_cache()
    upgrade_database()
    yield
    dispose_engines()
    reset_settings_cache()


@pytest.fixture
def users() -> tuple[accounts.UserInfo, accounts.UserInfo]:
    trainer = accounts.create_first_trainer("terry", TRAINER_PASSWORD, "Terry Trainer")
    trainee = accounts.add_user("tina", TRAINEE_PASSWORD, role="trainee", display_name="Tina Trainee")
    return trainer, trainee


@pytest.fixture
def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


@pytest.fixture
def signed_in(users) -> Callable[..., AppTest]:
    """A new browser session of the app, signed in through a token in the URL (as after a reload), on the
    given page."""

    def open_as(role: str = "trainee", page: str | None = None, **params: str) -> AppTest:
        user = users[1] if role == "trainee" else users[0]
        app = AppTest.from_file(str(APP), default_timeout=60)
        app.query_params["t"] = accounts.issue_token(user.id)
        app.query_params.update(params)
        app.run()
        if page is not None:
            app.switch_page(f"{PAGES}/{page}.py").run()
        return app

    return open_as
