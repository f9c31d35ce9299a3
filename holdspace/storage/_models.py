"""The tables: users and their sign-ins, practice sessions and their turns, notes, and the trainer tools'
tables (scenario sets, assignments, comments) that later work fills in.

Every schema change is an ordered Alembic migration in `migrations/versions/`; a test checks that these
models and the migrations agree, so neither can drift.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROLES = ("trainee", "trainer")
SESSION_STATUSES = ("in_progress", "paused", "completed", "ended_early", "crisis")
SPEAKER_ROLES = ("facilitator", "member", "system")

#: Named constraints, so migrations (and SQLite batch migrations) can refer to them by a stable name.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON everywhere; JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class AppMeta(Base):
    """Small facts about this installation. `initialised` is inserted with the first account, so two
    first-run forms submitted at once cannot both create a trainer (the second insert fails)."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('trainee', 'trainer')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    sessions: Mapped[list[PracticeSession]] = relationship(back_populates="user", passive_deletes=True)


class AuthToken(Base):
    """A sign-in: only the SHA-256 of the random token is stored, so a database leak signs nobody in.
    Expires on its own; sign-out revokes it."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ScenarioSet(Base):
    """A trainer's named selection of scenarios (filled in by the trainer tools)."""

    __tablename__ = "scenario_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ScenarioSetItem]] = relationship(
        back_populates="scenario_set", order_by="ScenarioSetItem.position", passive_deletes=True
    )


class ScenarioSetItem(Base):
    __tablename__ = "scenario_set_items"
    __table_args__ = (UniqueConstraint("set_id", "scenario_id", name="uq_scenario_set_items_set_scenario"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("scenario_sets.id", ondelete="CASCADE"))
    scenario_id: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)

    scenario_set: Mapped[ScenarioSet] = relationship(back_populates="items")


class Assignment(Base):
    """A scenario set assigned to a trainee, optionally with a due date."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("trainee_id", "set_id", name="uq_assignments_trainee_set"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("scenario_sets.id", ondelete="CASCADE"))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class PracticeSession(Base):
    __tablename__ = "practice_sessions"
    __table_args__ = (
        CheckConstraint("status IN ('in_progress', 'paused', 'completed', 'ended_early', 'crisis')", name="status"),
        Index("ix_practice_sessions_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scenario_id: Mapped[str] = mapped_column(String(60))
    scenario_title: Mapped[str] = mapped_column(String(120), default="")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    backend: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    end_message: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    #: facilitator replies so far
    turns_taken: Mapped[int] = mapped_column(Integer, default=0)
    overall: Mapped[float | None] = mapped_column(Float, default=None)
    #: the engine's summary record (outcome, per-dimension means, overall) once the session ends
    summary: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="SET NULL"), default=None)

    user: Mapped[User] = relationship(back_populates="sessions")
    turns: Mapped[list[Turn]] = relationship(back_populates="session", order_by="Turn.idx", passive_deletes=True)


class Turn(Base):
    """One transcript record (a facilitator reply, a member's line or a system message), in order."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("session_id", "idx", name="uq_turns_session_idx"),
        CheckConstraint("role IN ('facilitator', 'member', 'system')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"))
    #: position in the transcript, from 0
    idx: Mapped[int] = mapped_column(Integer)
    #: the facilitator turn this record belongs to (0 = the opening lines)
    turn: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    moves: Mapped[list[Any] | None] = mapped_column(default=None)
    scores: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    state: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    #: every other key of the record (overall, feedback, alternative, citations, ...)
    extra: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[PracticeSession] = relationship(back_populates="turns")
    notes: Mapped[list[Note]] = relationship(back_populates="turn", order_by="Note.id", passive_deletes=True)


class Note(Base):
    """A trainee's own note on a turn of their transcript."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    turn: Mapped[Turn] = relationship(back_populates="notes")


class TrainerComment(Base):
    """A trainer's comment on a session, or on one turn of it (used by the trainer tools)."""

    __tablename__ = "trainer_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"), index=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), default=None)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
