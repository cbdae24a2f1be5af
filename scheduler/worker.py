"""``kuzet worker``: claims queued tasks and runs them (crawls, re-checks), one at a time.

Any number of workers may run, on any host: a task is claimed by a conditional update
from queued to running, so only one worker gets it. A task left running by a worker that
died is queued again (this host: its pid is gone; elsewhere: after its lease).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update

from kuzet import procs
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import Source, Task, TaskKind, TaskStatus
from scheduler.jobs import system_clock

logger = logging.getLogger(__name__)

LEASE = timedelta(hours=6)  # the longest a crawl may hold a task before another takes it
MAX_ATTEMPTS = 3


def _recover(db: Database, now: datetime) -> None:
    with db.session() as s:
        for task in s.scalars(select(Task).where(Task.status == TaskStatus.RUNNING)):
            if not procs.holder_gone(
                task.worker_pid, task.worker_host, task.started_at, LEASE, now
            ):
                continue
            task.status = TaskStatus.QUEUED if task.attempts < MAX_ATTEMPTS else TaskStatus.FAILED
            task.error = "its worker stopped before it finished"


def claim(db: Database, kinds: Sequence[TaskKind], now: datetime) -> Task | None:
    _recover(db, now)
    with db.session() as s:
        candidates = s.scalars(
            select(Task.id)
            .where(Task.status == TaskStatus.QUEUED, Task.kind.in_(kinds), Task.due_at <= now)
            .order_by(Task.due_at, Task.id)
            .limit(5)
        ).all()
    for task_id in candidates:
        with db.session() as s:
            won = s.execute(
                update(Task)
                .where(Task.id == task_id, Task.status == TaskStatus.QUEUED)
                .values(
                    status=TaskStatus.RUNNING,
                    started_at=now,
                    attempts=Task.attempts + 1,
                    worker_pid=os.getpid(),
                    worker_host=procs.HOST,
                )
            ).rowcount
            if won == 1:
                task = s.get(Task, task_id)
                s.expunge(task)
                return task
    return None


def run_task(settings: Settings, db: Database, task: Task, now: datetime) -> None:
    from crawler.runner import run_crawl
    from scheduler.recheck import recheck_fact

    result: dict[str, object] = {}
    try:
        if task.kind == TaskKind.CRAWL:
            with db.session() as s:
                source = s.get(Source, task.source_id)
                name = source.name if source else None
            if name is None:
                raise ValueError(f"source {task.source_id} no longer exists")
            crawl = run_crawl(settings, db, [name])
            result = {"runs": crawl.run_ids, "returncode": crawl.returncode}
            if crawl.returncode != 0 or crawl.errors:
                raise RuntimeError(
                    f"crawl exited {crawl.returncode}: {'; '.join(crawl.errors) or crawl.log_file}"
                )
        elif task.kind == TaskKind.RECHECK:
            assert task.notice_fact_id is not None
            finding = recheck_fact(settings, db, task.notice_fact_id, now)
            result = {
                "finding": finding.status.value if finding.status else "inconclusive",
                "reason": finding.reason,
            }
        status, error = TaskStatus.SUCCEEDED, None
    except Exception as exc:  # recorded on the task, never swallowed
        logger.exception("Task %(id)s (%(kind)s) failed", {"id": task.id, "kind": task.kind})
        status, error = TaskStatus.FAILED, f"{type(exc).__name__}: {exc}"
    with db.session() as s:
        row = s.get(Task, task.id)
        assert row is not None
        row.status, row.error, row.result = status, error, result
        row.finished_at = system_clock()


def run_worker(
    settings: Settings,
    db: Database,
    *,
    kinds: Sequence[TaskKind] = tuple(TaskKind),
    stop: threading.Event | None = None,
    poll_s: float = 2.0,
    clock: Callable[[], datetime] = system_clock,
    until_idle: bool = False,
) -> int:
    """Process tasks until ``stop`` is set (or, with ``until_idle``, none is due).
    Returns how many ran. A task under way is finished before stopping."""
    stop = stop or threading.Event()
    done = 0
    while not stop.is_set():
        now = clock()
        task = claim(db, kinds, now)
        if task is None:
            if until_idle:
                break
            stop.wait(poll_s)
            continue
        run_task(settings, db, task, now)
        done += 1
    return done


def run_crawl_worker(
    settings: Settings, db: Database, stop: threading.Event, *, poll_s: float = 0.5
) -> int:
    """A distributed crawl worker (``kuzet worker crawl`` with ``KUZET_REDIS_URL``): a Scrapy
    process on the shared Redis queue, and beside it an analyser of stored pages (many
    analysers never take the same page). Runs until ``stop``; returns the crawl process's
    exit code."""
    import subprocess
    import sys

    from rules.analyze import Analyzer
    from rules.loader import load_rules

    analyser = Analyzer(db, load_rules(settings.rules_dir), rules_dir=settings.rules_dir)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"crawl-worker-{procs.HOST}-{os.getpid()}.log"
    env = {**os.environ, **settings.to_env(), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    crawl = subprocess.Popen(
        [sys.executable, "-m", "crawler.run", "--distributed", "--log-file", str(log_file)],
        env=env,
    )
    logger.info(
        "Crawl worker started (pid %(pid)s, log %(log)s)", {"pid": crawl.pid, "log": log_file}
    )
    try:
        while not stop.is_set() and crawl.poll() is None:
            if not analyser.run_once().pages:
                stop.wait(poll_s)
    finally:
        if crawl.poll() is None:
            crawl.terminate()  # Scrapy finishes what is under way, and puts back the rest
            try:
                crawl.wait(60)
            except subprocess.TimeoutExpired:
                crawl.kill()
                crawl.wait()
        analyser.drain()  # pages stored in the last moments
    if crawl.returncode in (0, -signal.SIGTERM):
        return 0
    logger.error(
        "Crawl process exited with %(rc)s; see %(log)s", {"rc": crawl.returncode, "log": log_file}
    )
    return crawl.returncode
