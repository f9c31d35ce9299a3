"""Storage: SQLAlchemy models, engines from the settings, and Alembic migrations run from code.

SQLite in the data folder by default (WAL, foreign keys), PostgreSQL by URL. Nothing here imports
Streamlit: the web app and the command line share it through `holdspace.services`.
"""

from holdspace.storage._db import (
    database_url,
    dispose_engines,
    get_engine,
    make_engine,
    normalise_url,
    session_factory,
    session_scope,
)
from holdspace.storage._migrate import (
    alembic_config,
    current_revision,
    downgrade_database,
    ensure_database,
    head_revision,
    upgrade_database,
)
from holdspace.storage._models import (
    ROLES,
    SESSION_STATUSES,
    SPEAKER_ROLES,
    AppMeta,
    Assignment,
    AuthToken,
    Base,
    Note,
    PracticeSession,
    ScenarioSet,
    ScenarioSetItem,
    TrainerComment,
    Turn,
    User,
    utcnow,
)

__all__ = [
    "ROLES",
    "SESSION_STATUSES",
    "SPEAKER_ROLES",
    "AppMeta",
    "Assignment",
    "AuthToken",
    "Base",
    "Note",
    "PracticeSession",
    "ScenarioSet",
    "ScenarioSetItem",
    "TrainerComment",
    "Turn",
    "User",
    "alembic_config",
    "current_revision",
    "database_url",
    "dispose_engines",
    "downgrade_database",
    "ensure_database",
    "get_engine",
    "head_revision",
    "make_engine",
    "normalise_url",
    "session_factory",
    "session_scope",
    "upgrade_database",
    "utcnow",
]
