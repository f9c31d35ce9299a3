"""Run the Alembic migrations from code: no alembic.ini at the repository root, the scripts ship inside
the package (`holdspace/storage/migrations`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from holdspace.storage._db import database_url, get_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # `%` is interpolation syntax in ConfigParser; a password may contain one.
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str | None = None) -> str | None:
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(url: str | None = None, revision: str = "head") -> str:
    """Bring the database at `url` (default: the configured one) up to `revision`; returns the revision
    it is at afterwards."""
    config = alembic_config(url)
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    current = current_revision(url)
    return current or ""


def downgrade_database(url: str | None = None, revision: str = "base") -> None:
    config = alembic_config(url)
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def ensure_database(url: str | None = None) -> None:
    """Upgrade only when behind: cheap to call at every app start."""
    if current_revision(url) != head_revision():
        upgrade_database(url)
