from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kuzet.models import Base

pytestmark = pytest.mark.both_databases


def test_migrations_build_exactly_the_schema_the_models_describe(db, backend) -> None:
    assert db.engine.dialect.name == backend
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], diff
