"""custody log: signed entries, chain head, checkpoints, access log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Entries already stored keep their unkeyed hash chain; they are numbered (``seq``) and
counted as the legacy prefix, which the first signed checkpoint seals.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "custody_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("legacy_count", sa.Integer(), nullable=False),
        sa.Column("access_count", sa.Integer(), nullable=False),
        sa.Column("checkpoints", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "custody_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("legacy_count", sa.Integer(), nullable=False),
        sa.Column("access_count", sa.Integer(), nullable=False),
        sa.Column("access_digest", sa.String(length=64), nullable=False),
        sa.Column("prev_digest", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("timestamp_reply", sa.LargeBinary(), nullable=True),
        sa.Column("timestamp_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_log_seq", "access_log", ["seq"], unique=True)
    op.create_index("ix_access_log_action", "access_log", ["action"], unique=False)

    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=128), nullable=True))
    _number_legacy_entries()
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.create_index("ix_audit_events_seq", ["seq"], unique=True)


def _number_legacy_entries() -> None:
    """Number the stored entries in id order and point the head at the last one."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, hash FROM audit_events ORDER BY id")).all()
    if rows:
        conn.execute(
            sa.text("UPDATE audit_events SET seq = :seq WHERE id = :id"),
            [{"seq": n, "id": row.id} for n, row in enumerate(rows, start=1)],
        )
    conn.execute(
        sa.text(
            "INSERT INTO custody_head (id, count, last_id, last_hash, legacy_count,"
            " access_count, checkpoints) VALUES (1, :n, :last_id, :last_hash, :n, 0, 0)"
        ),
        {
            "n": len(rows),
            "last_id": rows[-1].id if rows else None,
            "last_hash": rows[-1].hash if rows else GENESIS,
        },
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_seq")
        batch.drop_column("signature")
        batch.drop_column("key_id")
        batch.drop_column("seq")
    op.drop_index("ix_access_log_action", table_name="access_log")
    op.drop_index("ix_access_log_seq", table_name="access_log")
    op.drop_table("access_log")
    op.drop_table("custody_checkpoints")
    op.drop_table("custody_head")
