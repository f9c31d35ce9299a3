"""Fixtures for storage and service tests: a small fixture library (three members, two scenarios) so the
tests do not depend on the shipped scenarios' wording, a fresh database per test, and a throwaway
PostgreSQL server for the tests marked `postgres`."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from holdspace.engine.moves import RuleMoveDetector
from holdspace.services import accounts, practice
from holdspace.settings import PROJECT_ROOT, reset_settings_cache
from holdspace.storage import dispose_engines, upgrade_database

FIXTURE_CONTENT = Path(__file__).with_name("fixture_content")


def make_content_root(root: Path) -> Path:
    """Fixture scenarios and personas, beside the shipped guide and rubric (linked, not copied)."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("personas", "scenarios"):
        shutil.copytree(FIXTURE_CONTENT / folder, root / folder, dirs_exist_ok=True)
    for folder in ("guide_corpus", "evaluation"):
        if (PROJECT_ROOT / folder).exists() and not (root / folder).exists():
            (root / folder).symlink_to(PROJECT_ROOT / folder)
    return root


@pytest.fixture(scope="session")
def content_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_content_root(tmp_path_factory.mktemp("content"))


@pytest.fixture(autouse=True)
def fixture_library(fresh_data_dir: Path, content_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
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
    yield content_root
    dispose_engines()
    reset_settings_cache()


@pytest.fixture
def db(fixture_library: Path) -> str:
    """A migrated SQLite database in the test's data folder; returns its URL."""
    from holdspace.storage import database_url

    upgrade_database()
    return database_url()


# ------------------------------------------------------------------------------------------ PostgreSQL
def _pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of our own on a free loopback port, for the session; yields a server URL
    without a database name. Skipped only outside CI when PostgreSQL is not installed."""
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing; CI must run the PostgreSQL tests")
        pytest.skip("PostgreSQL is not installed (its binaries are not in /usr/lib/postgresql/*/bin)")
    root = Path(tempfile.mkdtemp(prefix="hs-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as the postgres user
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, and there is no `postgres` user to run the test server as")
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "holdspace",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://holdspace@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the test server, configured as the app's database for this test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_server}/{name}"
    monkeypatch.setenv("HOLDSPACE_DATABASE_URL", url)
    reset_settings_cache()
    yield url
    dispose_engines()
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, fixture_library: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        from holdspace.storage import database_url

        url = database_url()
    upgrade_database(url)
    return url
