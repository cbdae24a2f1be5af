"""Capture workers claiming jobs concurrently never take the same one (SKIP LOCKED on
PostgreSQL), and a claim records the worker."""

from __future__ import annotations

import os
import time

import pytest

from evidence.jobs import _claim
from kuzet import procs
from kuzet.models import Capture, CaptureStatus
from tests.workers import all_at_once

pytestmark = pytest.mark.both_databases


def test_concurrent_claims_are_disjoint(settings, db) -> None:
    with db.session() as s:
        for i in range(60):
            s.add(Capture(url=f"http://127.0.0.1:9/{i}"))

    def worker() -> list[int]:
        mine: list[int] = []
        while True:
            jobs = _claim(settings, db, None, limit=3)
            if not jobs:
                return mine
            mine += [j.capture_id for j in jobs]
            time.sleep(0.01)  # a worker starts its captures before claiming more

    claimed = all_at_once([worker] * 6, timeout=60)
    every = [c for mine in claimed for c in mine]
    assert len(every) == 60 and len(set(every)) == 60  # each exactly once
    assert sum(1 for mine in claimed if mine) >= 2  # the work really was shared
    with db.session() as s:
        caps = s.query(Capture).all()
        assert {c.status for c in caps} == {CaptureStatus.RUNNING}
        assert {(c.worker_pid, c.worker_host) for c in caps} == {(os.getpid(), procs.HOST)}
        assert {c.attempts for c in caps} == {1}
