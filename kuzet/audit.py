"""The audit log: every decision, with who and when, chained by hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kuzet.db import utcnow
from kuzet.models import AuditEvent, CustodyHead, User
from kuzet.models.custody import HEAD_ID

GENESIS = "0" * 64


def _digest(prev_hash: str, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _payload(ev: AuditEvent) -> dict[str, Any]:
    """What the hash covers: everything but the hashes themselves."""
    return {
        "at": ev.at.isoformat(),
        "actor": ev.actor,
        "user_id": ev.user_id,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "details": ev.details,
    }


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: object,
    user: User | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event. The caller's transaction commits it with the change it records."""
    head = CustodyHead.__table__
    # Lock the head row first (a row lock on PostgreSQL, the write lock on SQLite),
    # then read it: appends are serialized and the chain never forks.
    seq, last_hash = session.execute(
        update(head)
        .where(head.c.id == HEAD_ID)
        .values(count=head.c.count + 1)
        .returning(head.c.count, head.c.last_hash)
    ).one()
    event = AuditEvent(
        at=utcnow(),
        user_id=user.id if user else None,
        actor=actor or (user.username if user else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        prev_hash=last_hash,
        seq=seq,
    )
    event.hash = _digest(event.prev_hash, _payload(event))
    session.add(event)
    session.flush()
    session.execute(
        update(head).where(head.c.id == HEAD_ID).values(last_id=event.id, last_hash=event.hash)
    )
    return event


def verify_chain(session: Session) -> list[str]:
    """Problems found walking the chain (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if ev.prev_hash != prev:
            problems.append(
                f"audit event {ev.id}: previous-hash link broken (entry removed or reordered)"
            )
        if _digest(ev.prev_hash, _payload(ev)) != ev.hash:
            problems.append(f"audit event {ev.id}: content does not match its hash (altered)")
        prev = ev.hash
    return problems
