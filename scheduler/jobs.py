"""What the scheduler does when a job fires: it only writes tasks for workers.

Jobs live in APScheduler's database job store, referenced by name ("scheduler.jobs:..."),
with plain arguments; the process's settings, database and clock are bound once with
:func:`bind`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import NoticeFact, RecheckStatus, Source, Task, TaskKind, TaskStatus
from scheduler import lock

logger = logging.getLogger(__name__)

LOCK_NAME = "scheduler"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = system_clock


_context: Context | None = None


def bind(context: Context) -> None:
    global _context
    _context = context


def ctx() -> Context:
    if _context is None:
        raise RuntimeError("scheduler jobs ran before scheduler.jobs.bind()")
    return _context


def enqueue_crawl(source_id: int) -> int | None:
    """A crawl task for the source, unless one is still queued or running (a source never
    runs twice at once: the overlapping run is skipped and logged). With Redis configured,
    a distributed run whose start URL is pushed to the crawl workers; returns its id."""
    c = ctx()
    now = c.clock()
    if c.settings.redis_url:
        # Distributed crawling: the start URL goes straight to the shared Redis queue.
        from crawler.distributed import start_runs

        with c.db.session() as s:
            source = s.get(Source, source_id)
            if source is None or not source.enabled:
                return None
        runs = start_runs(c.db, c.settings.redis_url, [source_id])
        return runs[0] if runs else None
    with c.db.session() as s:
        source = s.get(Source, source_id)
        if source is None or not source.enabled:
            return None
        busy = s.scalar(
            select(Task.id)
            .where(
                Task.kind == TaskKind.CRAWL,
                Task.source_id == source_id,
                Task.status.in_(TaskStatus.OPEN),
            )
            .limit(1)
        )
        if busy is not None:
            logger.warning(
                "Crawl of %(source)s skipped: the previous one (task %(task)s) is still going",
                {"source": source.name, "task": busy},
            )
            return None
        task = Task(kind=TaskKind.CRAWL, source_id=source_id, due_at=now, created_at=now)
        s.add(task)
        s.flush()
        logger.info(
            "Crawl of %(source)s queued (task %(task)s)", {"source": source.name, "task": task.id}
        )
        return task.id


def enqueue_rechecks() -> int:
    """A re-check task for every sent fact that is due and not removed yet."""
    c = ctx()
    now = c.clock()
    added = 0
    with c.db.session() as s:
        open_facts = select(Task.notice_fact_id).where(
            Task.kind == TaskKind.RECHECK, Task.status.in_(TaskStatus.OPEN)
        )
        due = s.scalars(
            select(NoticeFact).where(
                NoticeFact.next_check_at.is_not(None),
                NoticeFact.next_check_at <= now,
                NoticeFact.recheck_status != RecheckStatus.REMOVED,
                NoticeFact.id.not_in(open_facts),
            )
        ).all()
        for fact in due:
            s.add(Task(kind=TaskKind.RECHECK, notice_fact_id=fact.id, due_at=now, created_at=now))
            added += 1
    if added:
        logger.info("%(n)s re-checks queued", {"n": added})
    return added


def heartbeat() -> None:
    lock.heartbeat(ctx().db, LOCK_NAME)


def alerts() -> int:
    """New urgent detections become alerts; pending alerts are delivered."""
    c = ctx()
    from scheduler import alerts as alerting

    now = c.clock()
    alerting.scan_urgent(c.settings, c.db, now)
    return alerting.deliver(c.settings, c.db, now)


def custody_checkpoint() -> int | None:
    """A signed (and, with a TSA, time-stamped) checkpoint of the custody log, when
    anything was appended since the last; its number."""
    from kuzet import audit

    c = ctx()
    cp, error = audit.checkpoint_and_anchor(c.db, c.settings.tsa_url, only_if_changed=True)
    if error:
        logger.error(
            "custody checkpoint %(n)s has no timestamp: %(error)s",
            {"n": cp.id if cp else None, "error": error},
        )
    return cp.id if cp else None


def reminders() -> list[str]:
    from scheduler import alerts as alerting

    c = ctx()
    return alerting.reminders(c.settings, c.db, c.clock())
