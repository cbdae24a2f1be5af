"""One scheduler at a time: a named lock row in the project database.

The holder is recorded by host and pid and keeps a heartbeat. Another process takes the
lock over only when the holder is gone: on this host, its pid no longer runs; elsewhere,
its heartbeat is older than ``stale_after``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from kuzet import procs
from kuzet.db import Database, utcnow
from kuzet.models import ProcessLock

STALE_AFTER = timedelta(minutes=2)


class AlreadyRunning(RuntimeError):
    def __init__(self, name: str, host: str, pid: int, since: datetime) -> None:
        super().__init__(
            f"a {name} is already running (pid {pid} on {host}, since {since:%Y-%m-%d %H:%M} "
            "UTC); only one may run"
        )
        self.host, self.pid = host, pid


def acquire(db: Database, name: str, *, stale_after: timedelta = STALE_AFTER) -> None:
    me_host, me_pid = procs.HOST, os.getpid()
    now = utcnow()
    with db.session() as s:
        row = s.get(ProcessLock, name)
        if row is not None:
            if not procs.holder_gone(row.pid, row.host, row.heartbeat_at, stale_after, now):
                raise AlreadyRunning(name, row.host, row.pid, row.acquired_at)
            # Taken over only if nobody else took it meanwhile (same heartbeat as read).
            taken = s.execute(
                update(ProcessLock)
                .where(ProcessLock.name == name, ProcessLock.heartbeat_at == row.heartbeat_at)
                .values(host=me_host, pid=me_pid, acquired_at=now, heartbeat_at=now)
            ).rowcount
            if taken != 1:
                raise AlreadyRunning(name, row.host, row.pid, row.acquired_at)
            return
    try:
        with db.session() as s:
            s.add(
                ProcessLock(name=name, host=me_host, pid=me_pid, acquired_at=now, heartbeat_at=now)
            )
    except IntegrityError:  # another process inserted it first
        with db.session() as s:
            row = s.get(ProcessLock, name)
            assert row is not None
            raise AlreadyRunning(name, row.host, row.pid, row.acquired_at) from None


def heartbeat(db: Database, name: str) -> None:
    with db.session() as s:
        s.execute(
            update(ProcessLock)
            .where(ProcessLock.name == name, ProcessLock.pid == os.getpid(),
                   ProcessLock.host == procs.HOST)
            .values(heartbeat_at=utcnow())
        )  # fmt: skip


def release(db: Database, name: str) -> None:
    with db.session() as s:
        s.execute(
            delete(ProcessLock).where(
                ProcessLock.name == name,
                ProcessLock.pid == os.getpid(),
                ProcessLock.host == procs.HOST,
            )
        )
