"""The scheduler process: APScheduler 3 with its jobs in the project database.

Exactly one runs (a database lock); it never crawls or captures itself, it only writes
tasks (:mod:`scheduler.jobs`) that ``kuzet worker`` processes run. Misfires coalesce into
one run within ``misfire_grace_s``; a job never overlaps itself.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import Source
from scheduler import jobs, lock
from scheduler.triggers import ScheduleError, parse

logger = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
CRAWL_PREFIX = "crawl:"
SYNC_EVERY_S = 60  # picks up schedules changed with `kuzet sources set-schedule`
RECHECK_EVERY_S = 60
HEARTBEAT_EVERY_S = 15
ALERTS_EVERY_S = 60
REMINDERS_EVERY_S = 6 * 3600
CUSTODY_CHECKPOINT_EVERY_S = 600  # signed, time-stamped head of the custody log


def build(
    settings: Settings,
    db: Database,
    *,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
    clock: Callable[[], datetime] = jobs.system_clock,
    executors: dict[str, Any] | None = None,
) -> BaseScheduler:
    jobs.bind(jobs.Context(settings, db, clock))
    return scheduler_cls(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE)},
        executors=executors or {"default": ThreadPoolExecutor(4)},
        job_defaults={
            "coalesce": True,  # a backlog of missed runs runs once
            "misfire_grace_time": settings.misfire_grace_s,
            "max_instances": 1,
        },
        timezone="UTC",
    )


def install_jobs(scheduler: BaseScheduler) -> None:
    """The scheduler's own periodic jobs (idempotent: replace_existing)."""
    for func, every, job_id in (
        ("scheduler.service:sync_sources_job", SYNC_EVERY_S, "sync-sources"),
        ("scheduler.jobs:enqueue_rechecks", RECHECK_EVERY_S, "rechecks"),
        ("scheduler.jobs:heartbeat", HEARTBEAT_EVERY_S, "heartbeat"),
        ("scheduler.jobs:alerts", ALERTS_EVERY_S, "alerts"),
        ("scheduler.jobs:reminders", REMINDERS_EVERY_S, "reminders"),
        ("scheduler.jobs:custody_checkpoint", CUSTODY_CHECKPOINT_EVERY_S, "custody-checkpoint"),
    ):
        scheduler.add_job(
            func, IntervalTrigger(seconds=every, timezone="UTC"), id=job_id, replace_existing=True
        )


_scheduler: BaseScheduler | None = None


def sync_sources_job() -> None:
    assert _scheduler is not None
    sync_sources(_scheduler, jobs.ctx().db)


def sync_sources(scheduler: BaseScheduler, db: Database) -> dict[str, str]:
    """One crawl job per enabled source with a schedule; jobs of sources that lost theirs
    are removed. Returns job id -> schedule; a bad schedule is logged and left out."""
    wanted: dict[str, tuple[int, str]] = {}
    with db.session() as s:
        for src in s.scalars(select(Source).where(Source.schedule.is_not(None))):
            if src.enabled and src.schedule:
                wanted[f"{CRAWL_PREFIX}{src.name}"] = (src.id, src.schedule)
    for job in scheduler.get_jobs():
        if job.id.startswith(CRAWL_PREFIX) and job.id not in wanted:
            scheduler.remove_job(job.id)
    out = {}
    for job_id, (source_id, schedule) in wanted.items():
        existing = scheduler.get_job(job_id)
        if existing is not None and getattr(existing, "name", "") == schedule:
            out[job_id] = schedule
            continue  # unchanged: keep its next run time
        try:
            trigger = parse(schedule)
        except ScheduleError as exc:
            logger.error("Source %(job)s: %(exc)s", {"job": job_id, "exc": exc})
            continue
        scheduler.add_job(
            "scheduler.jobs:enqueue_crawl",
            trigger,
            args=[source_id],
            id=job_id,
            name=schedule,
            replace_existing=True,
        )
        out[job_id] = schedule
    return out


def run(settings: Settings, db: Database) -> None:
    """``kuzet scheduler run``: hold the lock, schedule, stop cleanly on SIGTERM/SIGINT."""
    global _scheduler
    lock.acquire(db, jobs.LOCK_NAME)
    try:
        scheduler = _scheduler = build(settings, db)
        install_jobs(scheduler)

        def stop(signum: int, _frame: object) -> None:
            logger.info("Signal %(sig)s: scheduler stopping", {"sig": signum})
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.add_job(
            "scheduler.service:sync_sources_job", id="sync-now", replace_existing=True
        )  # once at start, then every minute
        logger.info("Scheduler started")
        scheduler.start()  # blocks until shutdown
    finally:
        lock.release(db, jobs.LOCK_NAME)
        _scheduler = None
