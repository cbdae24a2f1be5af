"""The custody log under load: parallel appenders (threads, processes, HTTP requests to a
running review UI) queue up on the chain head; the chain never forks."""

from __future__ import annotations

import multiprocessing
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import requests
from sqlalchemy import func, select

from evidence.store import LocalArtifactStore
from kuzet import audit
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import (
    AccessLogEntry,
    AuditEvent,
    CustodyCheckpoint,
    CustodyHead,
    Detection,
    DetectionStatus,
)
from tests.factories import detection, officer
from tests.test_browser_review import served

pytestmark = pytest.mark.both_databases

APPENDERS = 30
EACH = 4


def _append(db: Database, who: str, n: int, barrier: threading.Barrier | None = None) -> None:
    if barrier is not None:
        barrier.wait()
    for i in range(n):
        with db.session() as s:
            audit.record(s, action="test.append", object_type="x", object_id=i, actor=who)


def _assert_one_chain(db: Database, total: int) -> None:
    with db.session() as s:
        assert audit.verify_chain(s) == []
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, total + 1))
        head = s.get(CustodyHead, 1)
        assert head is not None and head.count == total


def _append_and_view(db: Database, who: str, barrier: threading.Barrier) -> None:
    barrier.wait()
    for i in range(EACH):
        with db.session() as s:
            audit.access(s, action="evidence.viewed", object_type="x", object_id=i)
        with db.session() as s:
            audit.record(s, action="test.append", object_type="x", object_id=i, actor=who)


def test_thirty_threads_append_one_chain(settings, db, backend) -> None:
    # a checkpoint every 7 entries: they are taken inside appends, under the same lock
    replace(settings, custody_checkpoint_every=7)
    barrier = threading.Barrier(APPENDERS)
    with ThreadPoolExecutor(APPENDERS) as pool:
        futures = [pool.submit(_append_and_view, db, f"t{k}", barrier) for k in range(APPENDERS)]
        for f in futures:
            f.result()
    _assert_one_chain(db, APPENDERS * EACH)
    with db.session() as s:
        access = s.scalars(select(AccessLogEntry.seq).order_by(AccessLogEntry.seq)).all()
        assert access == list(range(1, APPENDERS * EACH + 1))
        numbers = s.scalars(select(CustodyCheckpoint.id).order_by(CustodyCheckpoint.id)).all()
        assert numbers == list(range(1, 2 + APPENDERS * EACH // 7))  # the seal, then every 7th
    lines = settings.custody_files.read_lines()
    assert sorted(ln["checkpoint"]["number"] for ln in lines) == numbers


def _process_appender(env: dict[str, str], who: str, start: multiprocessing.Event) -> None:
    settings = Settings.from_env(env)
    db = Database.from_settings(settings, migrate=False)
    start.wait(30)
    _append(db, who, EACH)
    db.dispose()


def test_thirty_processes_append_one_chain(settings, db, backend) -> None:
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    env = settings.to_env()
    procs = [
        ctx.Process(target=_process_appender, args=(env, f"p{k}", start)) for k in range(APPENDERS)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * APPENDERS
    _assert_one_chain(db, APPENDERS * EACH)


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the form"
    return m.group(1)


def test_thirty_parallel_requests_to_the_review_ui_keep_one_chain(settings, db, backend) -> None:
    """The attack: an officer's browser (or several workers) firing decisions and evidence
    views at once, against the real app on a real port."""
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        dets = [detection(s, store, f"http://127.0.0.1:9/p{k}") for k in range(APPENDERS)]
        ids = [d.id for d in dets]
        shots = [d.capture.artifact("screenshot_full").sha256 for d in dets]
    with served(settings, db) as base:
        web = requests.Session()
        token = _csrf(web.get(f"{base}/login").text)
        r = web.post(
            f"{base}/login",
            data={"username": "officer1", "password": "correct horse battery", "csrf_token": token},
            allow_redirects=False,
        )
        assert r.status_code == 303, r.text
        token = _csrf(web.get(f"{base}/detections/{ids[0]}").text)
        cookies = web.cookies.get_dict()

        def wave(call, args):  # all requests of a wave are sent at the same moment
            barrier = threading.Barrier(len(args))

            def one(arg):
                barrier.wait()
                return call(arg).status_code

            with ThreadPoolExecutor(len(args)) as pool:
                return list(pool.map(one, args))

        decided = wave(
            lambda det_id: requests.post(
                f"{base}/detections/{det_id}/confirm",
                data={"csrf_token": token},
                cookies=cookies,
                allow_redirects=False,
                timeout=120,
            ),
            ids,
        )
        viewed = wave(
            lambda sha: requests.get(f"{base}/evidence/{sha}", cookies=cookies, timeout=120),
            shots,
        )
    assert decided == [303] * APPENDERS
    assert viewed == [200] * APPENDERS
    with db.session() as s:
        assert audit.verify_chain(s) == []
        statuses = s.scalars(select(Detection.status).where(Detection.id.in_(ids))).all()
        assert set(statuses) == {DetectionStatus.CONFIRMED}
        decisions = s.scalar(select(func.count()).where(AuditEvent.action.like("detection.%")))
        assert decisions == APPENDERS
        # views went to the access log, not the chain
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) >= APPENDERS + 1
        assert not s.scalars(select(AuditEvent).where(AuditEvent.action.like("evidence.%"))).all()
        audit.checkpoint(s)  # covers the access log too
    with db.session() as s:
        assert audit.verify_chain(s) == []
