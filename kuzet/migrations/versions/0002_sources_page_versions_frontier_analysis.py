"""sources, page versions, frontier, analysis

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "frontier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "done", "failed", name="frontierstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crawl_run_id", "url", name="uq_frontier_run_url"),
    )
    with op.batch_alter_table("frontier", schema=None) as batch_op:
        batch_op.create_index("ix_frontier_run_status", ["crawl_run_id", "status"], unique=False)

    op.create_table(
        "page_bodies",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("compression", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
        ),
        sa.PrimaryKeyConstraint("page_id"),
    )
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=200), nullable=True))

    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("charset", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("etag", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("last_modified", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "analysis_status",
                sa.Enum(
                    "pending",
                    "done",
                    "failed",
                    "skipped",
                    name="analysisstatus",
                    native_enum=False,
                    length=32,
                ),
                nullable=False,
                server_default="done",
            )
        )
        batch_op.add_column(sa.Column("analysis_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("encoding", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("meta", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.create_index("ix_pages_analysis_status", ["analysis_status"], unique=False)

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("deny", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("render", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("obey_robots", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("proxy", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("login_profile", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("login_profile")
        batch_op.drop_column("proxy")
        batch_op.drop_column("obey_robots")
        batch_op.drop_column("render")
        batch_op.drop_column("deny")
        batch_op.drop_column("allow")

    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index("ix_pages_analysis_status")
        batch_op.drop_column("meta")
        batch_op.drop_column("published_at")
        batch_op.drop_column("language")
        batch_op.drop_column("encoding")
        batch_op.drop_column("analysis_error")
        batch_op.drop_column("analysis_status")
        batch_op.drop_column("last_modified")
        batch_op.drop_column("etag")
        batch_op.drop_column("charset")

    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("pid")

    op.drop_table("page_bodies")
    with op.batch_alter_table("frontier", schema=None) as batch_op:
        batch_op.drop_index("ix_frontier_run_status")

    op.drop_table("frontier")
