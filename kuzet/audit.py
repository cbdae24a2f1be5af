"""The custody log: every decision, with who and when, chained by hash and signed.

Appends lock the one-row chain head first (a row lock on PostgreSQL, the database write
lock on SQLite), so parallel appends queue up instead of forking the chain. Each entry is
signed with the store's Ed25519 custody key (:mod:`kuzet.custody`), kept outside the
database. Signed checkpoints of the chain head (every ``KUZET_CUSTODY_CHECKPOINT_EVERY``
entries, on schedule and on demand) go to the database and to an append-only file, so
entries cut off the end are noticed. Read-only views go to the access log
(:func:`access`), which checkpoints cover by count and digest.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import Row, event, select, update
from sqlalchemy.orm import Session

from kuzet.custody import (
    GENESIS,
    CustodyFiles,
    Problem,
    Signer,
    canonical,
    files_for,
    public_pem,
)
from kuzet.custody_verify import (
    Records,
    access_digest,
    checkpoint_digest,
    entry_hash,
    verify_records,
)
from kuzet.db import Database, utcnow
from kuzet.models import AccessLogEntry, AuditEvent, CustodyCheckpoint, CustodyHead, User
from kuzet.models.custody import HEAD_ID

__all__ = ["GENESIS", "access", "checkpoint", "record", "verify_chain"]

_HEAD = CustodyHead.__table__
_PENDING = "kuzet.custody.pending_lines"


def _files(session: Session) -> CustodyFiles:
    return files_for(session.get_bind().engine.url)


def _lock_head(session: Session) -> Row[Any]:
    """The chain head, locked until the caller's transaction ends.

    The UPDATE comes first: on SQLite it takes the write lock (waiting out the busy
    timeout) before anything is read; on PostgreSQL it locks the row and returns the
    newest committed values."""
    return session.execute(
        update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(id=_HEAD.c.id).returning(_HEAD)
    ).one()


def _actor(user: User | None, actor: str | None) -> dict[str, Any]:
    return {
        "user_id": user.id if user else None,
        "actor": actor or (user.username if user else "system"),
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
    """Append a signed entry. The caller's transaction commits it with the change it
    records (and holds the chain head until then)."""
    files = _files(session)
    signer = files.signer()
    head = _lock_head(session)
    if head.checkpoints == 0:  # the first signed entry: seal what came before
        _checkpoint_locked(session, files, signer, head)
    seq = head.count + 1
    event = AuditEvent(
        at=utcnow(),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        prev_hash=head.last_hash,
        seq=seq,
        key_id=signer.key_id,
        **_actor(user, actor),
    )
    event.hash = entry_hash(_entry_record(event))
    event.signature = signer.sign(event.hash.encode())
    session.add(event)
    session.flush()
    session.execute(
        update(_HEAD)
        .where(_HEAD.c.id == HEAD_ID)
        .values(count=seq, last_id=event.id, last_hash=event.hash)
    )
    if files.checkpoint_every > 0 and seq % files.checkpoint_every == 0:
        _checkpoint_locked(session, files, signer, _lock_head(session))
    return event


def access(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: object,
    user: User | None = None,
    details: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Log a read-only view in the access log (numbered; covered by the next checkpoint)."""
    seq = session.execute(
        update(_HEAD)
        .where(_HEAD.c.id == HEAD_ID)
        .values(access_count=_HEAD.c.access_count + 1)
        .returning(_HEAD.c.access_count)
    ).scalar_one()
    row = AccessLogEntry(
        seq=seq,
        at=utcnow(),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        **_actor(user, None),
    )
    session.add(row)
    session.flush()
    return row


def checkpoint(session: Session) -> CustodyCheckpoint:
    """Sign a checkpoint of the chain head and the access log now."""
    files = _files(session)
    signer = files.signer()
    return _checkpoint_locked(session, files, signer, _lock_head(session))


def checkpoint_and_anchor(
    db: Database, tsa_url: str | None, *, only_if_changed: bool = False
) -> tuple[CustodyCheckpoint | None, str]:
    """Sign a checkpoint now and, with a TSA, anchor it with an RFC 3161 timestamp.

    The timestamp is asked for after the checkpoint is committed, so appends never wait
    on the TSA. Returns the checkpoint (None when ``only_if_changed`` and nothing was
    appended since the last one) and why it has no timestamp ("" when it has one, or no
    TSA is configured); that reason is also stored with the checkpoint."""
    from evidence.timestamp import TimestampError, request_timestamp

    with db.session() as session:
        head = _lock_head(session)
        last = session.get(CustodyCheckpoint, head.checkpoints) if head.checkpoints else None
        unchanged = last is not None and (last.count, last.access_count) == (
            head.count,
            head.access_count,
        )
        if only_if_changed and unchanged:
            return None, ""
        files = _files(session)
        cp = _checkpoint_locked(session, files, files.signer(), head)
    if not tsa_url:
        return cp, ""
    try:
        reply, error = request_timestamp(canonical(checkpoint_body(cp)), tsa_url), ""
    except TimestampError as exc:
        reply, error = None, str(exc)
    with db.session() as session:
        cp = session.merge(cp)
        anchor(session, cp, reply, error)
    return cp, error


def anchor(session: Session, cp: CustodyCheckpoint, reply: bytes | None, error: str) -> None:
    """Store an RFC 3161 reply over a committed checkpoint (or why there is none)."""
    cp.timestamp_reply, cp.timestamp_error = reply, error
    session.flush()
    if reply is not None:
        _queue(session, {"anchor": cp.id, "timestamp": base64.b64encode(reply).decode()})


def checkpoint_body(cp: CustodyCheckpoint) -> dict[str, Any]:
    return {
        "number": cp.id,
        "at": cp.at.isoformat(),
        "entry_id": cp.entry_id,
        "count": cp.count,
        "hash": cp.hash,
        "legacy_count": cp.legacy_count,
        "access_count": cp.access_count,
        "access_digest": cp.access_digest,
        "prev_digest": cp.prev_digest,
        "key_id": cp.key_id,
    }


def _checkpoint_locked(
    session: Session, files: CustodyFiles, signer: Signer, head: Row[Any]
) -> CustodyCheckpoint:
    prev = session.get(CustodyCheckpoint, head.checkpoints) if head.checkpoints else None
    running = prev.access_digest if prev else GENESIS
    rows = session.scalars(
        select(AccessLogEntry)
        .where(AccessLogEntry.seq > (prev.access_count if prev else 0))
        .where(AccessLogEntry.seq <= head.access_count)
        .order_by(AccessLogEntry.seq)
    )
    for row in rows:
        running = access_digest(running, _access_record(row))
    cp = CustodyCheckpoint(
        id=head.checkpoints + 1,
        at=utcnow(),
        entry_id=head.last_id,
        count=head.count,
        hash=head.last_hash,
        legacy_count=head.legacy_count,
        access_count=head.access_count,
        access_digest=running,
        prev_digest=checkpoint_digest(checkpoint_body(prev)) if prev else GENESIS,
        key_id=signer.key_id,
        signature="",
    )
    cp.signature = signer.sign(canonical(checkpoint_body(cp)))
    session.add(cp)
    session.flush()
    session.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(checkpoints=cp.id))
    _queue(session, {"checkpoint": checkpoint_body(cp), "signature": cp.signature})
    return cp


def _queue(session: Session, line: dict[str, Any]) -> None:
    """A line for the checkpoints file, written once the transaction has committed."""
    session.info.setdefault(_PENDING, []).append(line)


@event.listens_for(Session, "after_commit")
def _write_pending(session: Session) -> None:
    lines = session.info.pop(_PENDING, None)
    if lines:
        _files(session).append_lines(lines)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _entry_record(ev: AuditEvent) -> dict[str, Any]:
    return {
        "id": ev.id,
        "seq": ev.seq,
        "at": ev.at.isoformat(),
        "actor": ev.actor,
        "user_id": ev.user_id,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "details": ev.details,
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
        "key_id": ev.key_id,
        "signature": ev.signature,
    }


def _access_record(row: AccessLogEntry) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "user_id": row.user_id,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "details": row.details,
    }


def read_records(session: Session) -> Records:
    """The whole custody log of this database, with its checkpoints file."""
    head = session.get(CustodyHead, HEAD_ID)
    cps = session.scalars(select(CustodyCheckpoint).order_by(CustodyCheckpoint.id))
    return Records(
        entries=[
            _entry_record(e) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ],
        checkpoints=[
            {
                "checkpoint": checkpoint_body(c),
                "signature": c.signature,
                "timestamp": base64.b64encode(c.timestamp_reply).decode()
                if c.timestamp_reply
                else None,
            }
            for c in cps
        ],
        file_lines=_files(session).read_lines(),
        access=[
            _access_record(r)
            for r in session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))
        ],
        head=None
        if head is None
        else {"count": head.count, "last_hash": head.last_hash, "legacy_count": head.legacy_count},
    )


def timestamp_checker(roots: Sequence[x509.Certificate]) -> Any:
    from evidence.timestamp import verify_timestamp

    def check(reply: bytes, data: bytes) -> str | None:
        checked = verify_timestamp(reply, data, roots)
        return None if checked.ok else checked.problem

    return check


def verify_chain(session: Session, tsa_roots: Sequence[x509.Certificate] = ()) -> list[Problem]:
    """Problems found in the custody log, the first bad entry first (empty when intact)."""
    keys = _files(session).trusted_keys()
    return verify_records(read_records(session), keys, timestamp_checker(tsa_roots))


def export(session: Session, directory: Path) -> Records:
    """Write the custody log, its checkpoints and the public key(s) to ``directory``."""
    rec = read_records(session)
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("entries", rec.entries),
        ("checkpoints", rec.checkpoints),
        ("checkpoints_file", rec.file_lines),
        ("access_log", rec.access),
        ("head", [rec.head] if rec.head else []),
    ):
        with (directory / f"{name}.jsonl").open("wb") as fh:
            fh.writelines(canonical(r) + b"\n" for r in rows)
    for key_id, key in _files(session).trusted_keys().items():
        (directory / f"{key_id}.pub").write_bytes(public_pem(key))
    return rec


def load_export(directory: Path) -> Records:
    def rows(name: str) -> list[dict[str, Any]]:
        text = (directory / f"{name}.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    head = rows("head")
    return Records(
        entries=rows("entries"),
        checkpoints=rows("checkpoints"),
        file_lines=rows("checkpoints_file"),
        access=rows("access_log"),
        head=head[0] if head else None,
    )
