"""Checkpoints on demand, anchored with an RFC 3161 timestamp from a local TSA."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from evidence.timestamp import load_roots, request_timestamp
from kuzet import audit
from kuzet.cli import app
from kuzet.models import CustodyCheckpoint
from tests.test_cli import env
from tests.test_timestamp import TsaServer, make_tsa


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    d = make_tsa(tmp_path_factory.mktemp("tsa"))
    with TsaServer(d) as server:
        yield server, d


def test_checkpoint_is_signed_timestamped_and_checked(tsa, settings, db) -> None:
    server, d = tsa
    stamped = replace(settings, tsa_url=server.url, tsa_ca=d / "ca.pem")
    with db.session() as s:
        audit.record(s, action="test.event", object_type="x", object_id=1, actor="officer1")
    r = CliRunner().invoke(app, ["--lang", "en", "evidence", "checkpoint"], env=env(stamped))
    assert r.exit_code == 0, r.output
    assert "Checkpoint 2: 1 entries" in r.output and "RFC 3161 timestamp received" in r.output
    lines = stamped.custody_files.read_lines()
    assert [ln.get("anchor") for ln in lines] == [None, None, 2]
    roots = load_roots(d / "ca.pem")
    with db.session() as s:
        cp = s.get(CustodyCheckpoint, 2)
        assert cp is not None and cp.timestamp_reply and cp.timestamp_error == ""
        assert audit.verify_chain(s, roots) == []
    # a genuine timestamp of something else put in its place
    other = request_timestamp(b"something else", server.url)
    with db.session() as s:
        s.execute(
            update(CustodyCheckpoint).where(CustodyCheckpoint.id == 2).values(timestamp_reply=other)
        )
    with db.session() as s:
        problems = audit.verify_chain(s, roots)
    assert any(p.startswith("checkpoint 2: its RFC 3161 timestamp does not hold") for p in problems)


def test_unreachable_tsa_is_recorded_and_fails_the_command(settings, db, closed_port) -> None:
    down = replace(settings, tsa_url=f"http://127.0.0.1:{closed_port}/tsa")
    r = CliRunner().invoke(app, ["--lang", "en", "evidence", "checkpoint"], env=env(down))
    assert r.exit_code == 1
    assert "No timestamp" in r.stderr and "unreachable" in r.stderr
    with db.session() as s:
        cp = s.get(CustodyCheckpoint, 1)
        assert cp is not None and cp.timestamp_reply is None and "unreachable" in cp.timestamp_error
        assert audit.verify_chain(s) == []
    assert (
        json.loads(settings.custody_files.checkpoints_file.read_text())["checkpoint"]["number"] == 1
    )


def test_scheduled_checkpoint_only_when_something_was_appended(tsa, settings, db) -> None:
    from scheduler import jobs

    server, d = tsa
    jobs.bind(jobs.Context(replace(settings, tsa_url=server.url), db))
    with db.session() as s:
        audit.record(s, action="test.event", object_type="x", object_id=1, actor="officer1")
    assert jobs.custody_checkpoint() == 2  # 1 sealed the (empty) chain before the entry
    assert jobs.custody_checkpoint() is None  # nothing new
    with db.session() as s:
        audit.access(s, action="evidence.viewed", object_type="detection", object_id=1)
    assert jobs.custody_checkpoint() == 3
    with db.session() as s:
        assert s.get(CustodyCheckpoint, 3).timestamp_reply
        assert audit.verify_chain(s, load_roots(d / "ca.pem")) == []


def test_custody_key_is_private_and_outside_the_database(settings, db) -> None:
    from kuzet.custody import load_public_keys

    with db.session() as s:
        ev = audit.record(s, action="test.event", object_type="x", object_id=1, actor="a")
    files = settings.custody_files
    assert files.key_file == settings.home / "custody.key"
    assert files.key_file.stat().st_mode & 0o777 == 0o600
    assert files.dir.stat().st_mode & 0o777 == 0o700
    assert list(load_public_keys([files.public_key_file])) == [ev.key_id]
    other = replace(settings, custody_key_file=settings.home / "elsewhere" / "k.pem")
    with db.session() as s:
        moved = audit.record(s, action="test.event", object_type="x", object_id=2, actor="a")
    assert other.custody_files.key_file.is_file() and moved.key_id != ev.key_id
    # the earlier public key is kept, so what it signed still verifies
    assert (files.dir / "keys" / f"{ev.key_id}.pub").is_file()
    with db.session() as s:
        assert audit.verify_chain(s) == []
