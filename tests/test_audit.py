from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, update

from kuzet import audit
from kuzet.models import AuditEvent

pytestmark = pytest.mark.both_databases


def test_chain_verifies_and_names_altered_or_removed_entries(db) -> None:
    with db.session() as s:
        for i in range(4):
            audit.record(
                s,
                action="test.event",
                object_type="x",
                object_id=i,
                actor="tester",
                details={"n": i, "text": "қазақша"},
            )
    with db.session() as s:
        assert audit.verify_chain(s) == []
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert events[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
        ids = [e.id for e in events]
    with db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor="someone else"))
    with db.session() as s:
        assert audit.verify_chain(s) == [
            f"custody log entry {ids[1]} (no. 2): content does not match its hash (altered)"
        ]
        s.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor="tester"))
    with db.session() as s:
        s.delete(s.get(AuditEvent, ids[2]))
    with db.session() as s:
        problems = audit.verify_chain(s)
        assert problems == [
            f"custody log entry {ids[3]} (no. 4): link to the previous entry broken "
            "(an entry before it was removed, inserted or reordered)"
        ]
