"""Migrations build the schema the models describe, on SQLite and on PostgreSQL, and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from holdspace.storage import (
    Base,
    current_revision,
    downgrade_database,
    get_engine,
    head_revision,
    upgrade_database,
)

TABLES = {
    "app_meta",
    "users",
    "auth_tokens",
    "practice_sessions",
    "turns",
    "notes",
    "scenario_sets",
    "scenario_set_items",
    "assignments",
    "trainer_comments",
}


def _check_schema(url: str) -> None:
    assert current_revision(url) == head_revision()
    engine = get_engine(url)
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []  # models and migrations agree


def test_upgrade_on_sqlite_matches_the_models(fixture_library) -> None:
    url = f"sqlite:///{fixture_library.parent}/mig-{id(fixture_library)}.sqlite3"
    assert current_revision(url) is None
    assert upgrade_database(url) == head_revision()
    _check_schema(url)
    downgrade_database(url)
    assert not TABLES & set(inspect(get_engine(url)).get_table_names())
    upgrade_database(url)
    _check_schema(url)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: str) -> None:
    with get_engine(db).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_the_default_database_lives_in_the_data_folder(fresh_data_dir, db: str) -> None:
    assert db == f"sqlite:///{fresh_data_dir / 'holdspace.sqlite3'}"
    assert (fresh_data_dir / "holdspace.sqlite3").exists()


def test_upgrade_is_idempotent(db: str) -> None:
    assert upgrade_database(db) == head_revision()


@pytest.mark.postgres
def test_upgrade_on_postgres_matches_the_models(postgres_url: str) -> None:
    assert current_revision(postgres_url) is None
    upgrade_database(postgres_url)
    _check_schema(postgres_url)
    downgrade_database(postgres_url)
    upgrade_database(postgres_url)
    _check_schema(postgres_url)


@pytest.mark.postgres
def test_plain_postgresql_urls_use_psycopg3(postgres_url: str) -> None:
    from holdspace.storage import normalise_url

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    assert normalise_url(plain) == postgres_url
    assert upgrade_database(plain) == head_revision()
