"""Attacks on the stored custody log, as someone with write access to the database (and,
last, to the checkpoints file too) would make them; verify must name each."""

from __future__ import annotations

import hashlib
import json

import pytest
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from kuzet import audit
from kuzet.cli import app
from kuzet.custody import key_id_of
from kuzet.db import Database, alembic_config, make_engine
from kuzet.models import AccessLogEntry, AuditEvent, CustodyCheckpoint, CustodyHead
from tests.test_cli import env

pytestmark = pytest.mark.both_databases

GENESIS = "0" * 64


def _fill(db: Database, n: int) -> list[int]:
    with db.session() as s:
        ids = [
            audit.record(
                s,
                action="test.event",
                object_type="x",
                object_id=i,
                actor="officer1",
                details={"n": i, "text": "қазақша"},
            ).id
            for i in range(n)
        ]
    return ids


def _unkeyed(prev: str, ev: AuditEvent) -> str:
    """The attacker's recomputation: the hash algorithm is public, the key is not."""
    payload = {
        "at": ev.at.isoformat(),
        "actor": ev.actor,
        "user_id": ev.user_id,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "details": ev.details,
    }
    if ev.key_id is not None:
        payload |= {"seq": ev.seq, "key_id": ev.key_id}
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + body).encode()).hexdigest()


def _rewrite_from(db: Database, entry_id: int, **changes: object) -> None:
    """Edit one entry and recompute every hash after it, and the head: all an
    attacker with database access can do."""
    with db.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = GENESIS
        for ev in events:
            if ev.id == entry_id:
                for k, v in changes.items():
                    setattr(ev, k, v)
            if ev.id >= entry_id:
                ev.prev_hash = prev
                ev.hash = _unkeyed(prev, ev)
            prev = ev.hash
        s.execute(update(CustodyHead).values(last_hash=prev))


def _problems(db: Database) -> list[str]:
    with db.session() as s:
        return audit.verify_chain(s)


def test_rewritten_entry_with_recomputed_hashes_is_named(db) -> None:
    ids = _fill(db, 6)
    assert _problems(db) == []
    _rewrite_from(db, ids[2], actor="someone else")
    problems = _problems(db)
    assert problems[0] == (
        f"custody log entry {ids[2]} (no. 3): bad signature (rewritten without the custody key)"
    )


def test_entry_signed_with_another_key_is_named(db) -> None:
    ids = _fill(db, 3)
    forger = Ed25519PrivateKey.generate()
    kid = key_id_of(forger.public_key())
    _rewrite_from(db, ids[1], actor="someone else", key_id=kid)
    with db.session() as s:
        ev = s.get(AuditEvent, ids[1])
        ev.signature = forger.sign(ev.hash.encode()).hex()
    assert _problems(db)[0] == (
        f"custody log entry {ids[1]} (no. 2): signed with an unknown key {kid}"
    )


def test_stripped_signature_is_not_taken_for_the_legacy_chain(db) -> None:
    ids = _fill(db, 3)
    _rewrite_from(db, ids[1], actor="someone else", key_id=None, signature=None)
    assert _problems(db)[0] == (
        f"custody log entry {ids[1]} (no. 2): unsigned, after the legacy chain was sealed"
    )


def test_removed_middle_entry_is_named(db) -> None:
    ids = _fill(db, 5)
    with db.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.id == ids[2]))
    assert _problems(db) == [
        f"custody log entry {ids[3]} (no. 4): link to the previous entry broken "
        "(an entry before it was removed, inserted or reordered)"
    ]


def test_entries_cut_off_the_end_are_reported(db, settings) -> None:
    ids = _fill(db, 5)
    with db.session() as s:
        cp = audit.checkpoint(s)
    _fill(db, 2)
    # the attacker deletes the last four entries, the checkpoint rows, and fixes the head
    with db.session() as s:
        last = s.get(AuditEvent, ids[0])
        s.execute(delete(AuditEvent).where(AuditEvent.id > ids[0]))
        s.execute(delete(CustodyCheckpoint))
        s.execute(update(CustodyHead).values(count=1, last_id=last.id, last_hash=last.hash))
    problems = _problems(db)
    assert f"checkpoint {cp.id} is in the checkpoints file but not in the database (removed)" in (
        problems
    )
    assert (
        f"custody log truncated: checkpoint {cp.id} recorded 5 entries (last hash {cp.hash}), "
        "the chain now has 1"
    ) in problems
    r = CliRunner().invoke(app, ["--lang", "ru", "evidence", "verify"], env=env(settings))
    assert r.exit_code == 1
    assert "Журнал хранения усечён: контрольная точка" in r.stderr


def test_access_log_rows_removed_are_reported(db) -> None:
    with db.session() as s:
        for i in range(4):
            audit.access(s, action="evidence.viewed", object_type="detection", object_id=i)
    with db.session() as s:
        audit.checkpoint(s)
    assert _problems(db) == []
    with db.session() as s:
        s.execute(delete(AccessLogEntry).where(AccessLogEntry.seq == 2))
    problems = _problems(db)
    assert "access log entry no. 2 is missing" in problems
    assert any(p.startswith("the access log does not match checkpoint") for p in problems)


def test_export_is_verified_offline_and_a_forged_one_fails(db, settings, tmp_path) -> None:
    ids = _fill(db, 4)
    runner = CliRunner()
    out = tmp_path / "export"
    r = runner.invoke(app, ["evidence", "export-custody", str(out)], env=env(settings))
    assert r.exit_code == 0, r.output
    pub = settings.custody_files.public_key_file
    ok = runner.invoke(
        app,
        ["--lang", "en", "evidence", "verify", "--export", str(out), "--public-key", str(pub)],
        env=env(settings),
    )
    assert ok.exit_code == 0, ok.output
    lines = (out / "entries.jsonl").read_text().splitlines()
    forged = json.loads(lines[1]) | {"actor": "someone else"}
    lines[1] = json.dumps(forged)
    (out / "entries.jsonl").write_text("\n".join(lines) + "\n")
    bad = runner.invoke(
        app,
        ["--lang", "en", "evidence", "verify", "--export", str(out), "--public-key", str(pub)],
        env=env(settings),
    )
    assert bad.exit_code == 1
    assert f"custody log entry {ids[1]} (no. 2): content does not match its hash" in bad.stderr


def test_legacy_chain_is_kept_and_sealed_by_the_migration(settings) -> None:
    """A store from before signing: its unkeyed chain still verifies, is sealed by the
    first checkpoint, and an edit of a legacy entry is still named."""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
        prev = GENESIS
        for i in range(3):
            payload = {
                "at": f"2026-01-0{i + 1}T00:00:00+00:00",
                "actor": "old",
                "user_id": None,
                "action": "legacy",
                "object_type": "x",
                "object_id": str(i),
                "details": {},
            }
            body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            h = hashlib.sha256((prev + body).encode()).hexdigest()
            conn.execute(
                text(
                    "INSERT INTO audit_events (at, actor, user_id, action, object_type,"
                    " object_id, details, prev_hash, hash) VALUES (:at, 'old', NULL, 'legacy',"
                    " 'x', :oid, '{}', :prev, :hash)"
                ),
                {"at": payload["at"], "oid": str(i), "prev": prev, "hash": h},
            )
            prev = h
    engine.dispose()
    db = Database.from_settings(settings)
    try:
        assert _problems(db) == []
        ids = _fill(db, 2)
        with db.session() as s:
            seal = s.get(CustodyCheckpoint, 1)
            assert seal is not None and (seal.legacy_count, seal.count) == (3, 3)
            assert s.get(AuditEvent, ids[0]).prev_hash == prev
        assert _problems(db) == []
        with db.session() as s:
            s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone"))
        assert _problems(db)[0].endswith("(no. 2): content does not match its hash (altered)")
    finally:
        db.dispose()
