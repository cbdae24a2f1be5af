"""scheduler: source schedules, work queue, process locks, fact re-checks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.String(length=100), nullable=True))
    with op.batch_alter_table("notice_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recheck_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("next_check_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("last_checked_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("checks", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_check_capture_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_notice_facts_next_check_at", ["next_check_at"])
        batch_op.create_foreign_key(
            "fk_notice_facts_check_capture", "captures", ["last_check_capture_id"], ["id"]
        )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id"), nullable=True),
        sa.Column("notice_fact_id", sa.Integer(), sa.ForeignKey("notice_facts.id"), nullable=True),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("worker_host", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_tasks_due", "tasks", ["status", "due_at"])
    op.create_index("ix_tasks_source_id", "tasks", ["source_id"])
    op.create_index("ix_tasks_notice_fact_id", "tasks", ["notice_fact_id"])
    op.create_table(
        "process_locks",
        sa.Column("name", sa.String(length=100), primary_key=True),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", _TS, nullable=False),
        sa.Column("heartbeat_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("process_locks")
    op.drop_index("ix_tasks_notice_fact_id", table_name="tasks")
    op.drop_index("ix_tasks_source_id", table_name="tasks")
    op.drop_index("ix_tasks_due", table_name="tasks")
    op.drop_table("tasks")
    with op.batch_alter_table("notice_facts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_notice_facts_check_capture", type_="foreignkey")
        batch_op.drop_index("ix_notice_facts_next_check_at")
        for col in ("last_check_capture_id", "checks", "last_checked_at", "next_check_at",
                    "recheck_status"):  # fmt: skip
            batch_op.drop_column(col)
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("schedule")
