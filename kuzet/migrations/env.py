"""Alembic environment: run migrations on the connection handed in by kuzet.db.upgrade,
or on KUZET_DATABASE_URL when alembic is invoked by hand."""

from __future__ import annotations

from alembic import context

from kuzet.models import Base

target_metadata = Base.metadata


def _ours(name: str | None, type_: str, _parent: object) -> bool:
    """APScheduler creates and owns its job table; autogenerate leaves it alone."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from kuzet.config import Settings
        from kuzet.db import make_engine

        engine = make_engine(Settings.from_env().database_url)
        with engine.begin() as conn:
            _migrate(conn)
        return
    _migrate(connection)


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
