"""Initial schema: users and sign-ins, practice sessions, turns, notes, and the trainer tools' tables.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "app_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("key", name="pk_app_meta"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("last_login_at", nullable=True),
        sa.CheckConstraint("role IN ('trainee', 'trainer')", name="ck_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_auth_tokens_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_auth_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_auth_tokens_token_hash"),
    )
    op.create_index("ix_auth_tokens_user_id", "auth_tokens", ["user_id"])
    op.create_table(
        "scenario_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_scenario_sets_created_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_sets"),
        sa.UniqueConstraint("name", name="uq_scenario_sets_name"),
    )
    op.create_table(
        "scenario_set_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["scenario_sets.id"],
            name="fk_scenario_set_items_set_id_scenario_sets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_set_items"),
        sa.UniqueConstraint("set_id", "scenario_id", name="uq_scenario_set_items_set_scenario"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        _ts("created_at"),
        _ts("completed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["users.id"], name="fk_assignments_trainee_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["set_id"], ["scenario_sets.id"], name="fk_assignments_set_id_scenario_sets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["users.id"], name="fk_assignments_assigned_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.UniqueConstraint("trainee_id", "set_id", name="uq_assignments_trainee_set"),
    )
    op.create_index("ix_assignments_trainee_id", "assignments", ["trainee_id"])
    op.create_table(
        "practice_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(60), nullable=False),
        sa.Column("scenario_title", sa.String(120), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("end_message", sa.Text(), nullable=False),
        _ts("started_at"),
        _ts("updated_at"),
        _ts("ended_at", nullable=True),
        sa.Column("turns_taken", sa.Integer(), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("summary", JSONType, nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_progress', 'paused', 'completed', 'ended_early', 'crisis')",
            name="ck_practice_sessions_status",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_practice_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name="fk_practice_sessions_assignment_id_assignments",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_practice_sessions"),
    )
    op.create_index("ix_practice_sessions_user_started", "practice_sessions", ["user_id", "started_at"])
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(60), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("moves", JSONType, nullable=True),
        sa.Column("scores", JSONType, nullable=True),
        sa.Column("state", JSONType, nullable=True),
        sa.Column("extra", JSONType, nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("role IN ('facilitator', 'member', 'system')", name="ck_turns_role"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name="fk_turns_session_id_practice_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_turns"),
        sa.UniqueConstraint("session_id", "idx", name="uq_turns_session_idx"),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["turn_id"], ["turns.id"], name="fk_notes_turn_id_turns", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_notes_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
    )
    op.create_index("ix_notes_turn_id", "notes", ["turn_id"])
    op.create_table(
        "trainer_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.Column("trainer_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name="fk_trainer_comments_session_id_practice_sessions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name="fk_trainer_comments_turn_id_turns", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["users.id"], name="fk_trainer_comments_trainer_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_trainer_comments"),
    )
    op.create_index("ix_trainer_comments_session_id", "trainer_comments", ["session_id"])


def downgrade() -> None:
    for index, table in [
        ("ix_trainer_comments_session_id", "trainer_comments"),
        ("ix_notes_turn_id", "notes"),
        ("ix_practice_sessions_user_started", "practice_sessions"),
        ("ix_assignments_trainee_id", "assignments"),
        ("ix_auth_tokens_user_id", "auth_tokens"),
    ]:
        op.drop_index(index, table_name=table)
    for table in (
        "trainer_comments",
        "notes",
        "turns",
        "practice_sessions",
        "assignments",
        "scenario_set_items",
        "scenario_sets",
        "auth_tokens",
        "users",
        "app_meta",
    ):
        op.drop_table(table)
