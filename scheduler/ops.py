"""What operators look at: the state of queues and sources (``kuzet status``), metrics in
Prometheus' text format (``/metrics``), health checks (``kuzet doctor``), JSON logs."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kuzet import redact
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import (
    Alert,
    Capture,
    CaptureStatus,
    CrawlRun,
    CrawlStatus,
    Detection,
    Page,
    ProcessLock,
    Source,
    Task,
    TaskStatus,
)

# ---------------------------------------------------------------------- status


@dataclass
class SourceState:
    name: str
    enabled: bool
    schedule: str | None
    last_run: datetime | None
    last_status: str | None
    next_run: datetime | None


@dataclass
class Status:
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> status -> n
    captures: dict[str, int] = field(default_factory=dict)
    alerts_pending: int = 0
    sources: list[SourceState] = field(default_factory=list)
    failures_24h: list[str] = field(default_factory=list)
    scheduler: str = "not running"


def next_runs(db: Database) -> dict[str, datetime]:
    """Next run per crawl job, read from the scheduler's job store."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from scheduler.service import CRAWL_PREFIX, JOBS_TABLE

    store = SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE)
    store.start(None, "default")  # type: ignore[arg-type] # reads only; creates the table if missing
    try:
        return {
            job.id.removeprefix(CRAWL_PREFIX): job.next_run_time
            for job in store.get_all_jobs()
            if job.id.startswith(CRAWL_PREFIX) and job.next_run_time
        }
    finally:
        store.shutdown()


def status(db: Database, now: datetime) -> Status:
    out = Status()
    since = now - timedelta(hours=24)
    with db.session() as s:
        for kind, st, n in s.execute(
            select(Task.kind, Task.status, func.count()).group_by(Task.kind, Task.status)
        ):
            out.tasks.setdefault(kind.value, {})[st.value] = n
        out.captures = {
            st.value: n
            for st, n in s.execute(select(Capture.status, func.count()).group_by(Capture.status))
        }
        out.alerts_pending = s.scalar(select(func.count()).where(Alert.sent_at.is_(None))) or 0
        lock = s.get(ProcessLock, "scheduler")
        if lock is not None:
            beat = f"{lock.heartbeat_at:%Y-%m-%d %H:%M:%S}"
            out.scheduler = f"pid {lock.pid} on {lock.host}, heartbeat {beat} UTC"
        upcoming = next_runs(db)
        for src in s.scalars(select(Source).order_by(Source.name)):
            last = s.scalars(
                select(CrawlRun).where(CrawlRun.source_id == src.id).order_by(CrawlRun.id.desc())
            ).first()
            out.sources.append(
                SourceState(
                    src.name,
                    src.enabled,
                    src.schedule,
                    last.started_at if last else None,
                    last.status.value if last else None,
                    upcoming.get(src.name),
                )
            )
        for task in s.scalars(
            select(Task).where(Task.status == TaskStatus.FAILED, Task.finished_at >= since)
        ):
            out.failures_24h.append(f"task {task.id} ({task.kind.value}): {task.error}")
        for cap in s.scalars(
            select(Capture).where(
                Capture.status == CaptureStatus.FAILED, Capture.finished_at >= since
            )
        ):
            out.failures_24h.append(f"capture {cap.id} {cap.url}: {cap.error}")
        for run in s.scalars(
            select(CrawlRun).where(
                CrawlRun.status == CrawlStatus.FAILED, CrawlRun.started_at >= since
            )
        ):
            out.failures_24h.append(f"crawl run {run.id}: {run.error}")
    return out


# ---------------------------------------------------------------------- metrics

_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300)
METRICS_TTL_S = 10.0


def metrics(db: Database) -> str:
    """Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []

    def family(name: str, kind: str, help_: str) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")

    with db.session() as s:
        family("kuzet_pages_fetched_total", "counter", "Pages fetched, by fetch status.")
        for st, n in s.execute(select(Page.fetch_status, func.count()).group_by(Page.fetch_status)):
            lines.append(f'kuzet_pages_fetched_total{{status="{st.value}"}} {n}')
        family("kuzet_detections_total", "counter", "Detections, by review status.")
        for st, n in s.execute(select(Detection.status, func.count()).group_by(Detection.status)):
            lines.append(f'kuzet_detections_total{{status="{st.value}"}} {n}')
        family("kuzet_queue_depth", "gauge", "Work waiting or under way, by queue.")
        for kind, n in s.execute(
            select(Task.kind, func.count())
            .where(Task.status.in_(TaskStatus.OPEN))
            .group_by(Task.kind)
        ):
            lines.append(f'kuzet_queue_depth{{queue="{kind.value}"}} {n}')
        open_caps = s.scalar(select(func.count()).where(Capture.status.not_in(CaptureStatus.FINAL)))
        lines.append(f'kuzet_queue_depth{{queue="capture"}} {open_caps or 0}')
        family("kuzet_alerts_pending", "gauge", "Alerts not delivered yet.")
        pending = s.scalar(select(func.count()).where(Alert.sent_at.is_(None)))
        lines.append(f"kuzet_alerts_pending {pending or 0}")
        family("kuzet_capture_seconds", "histogram", "Capture time, start to stored evidence.")
        buckets, total, count = _capture_histogram(s)
        for bound, n in zip(_BUCKETS, buckets, strict=True):
            lines.append(f'kuzet_capture_seconds_bucket{{le="{bound}"}} {n}')
        lines.append(f'kuzet_capture_seconds_bucket{{le="+Inf"}} {count}')
        lines.append(f"kuzet_capture_seconds_sum {total:.3f}")
        lines.append(f"kuzet_capture_seconds_count {count}")
    return "\n".join(lines) + "\n"


def _capture_histogram(s: Session) -> tuple[list[int], float, int]:
    """Bucket counts, sum and count of capture durations, added up by the database in
    one aggregate query (no capture row is read)."""
    if s.get_bind().dialect.name == "sqlite":
        span = (func.julianday(Capture.finished_at) - func.julianday(Capture.started_at)) * 86400.0
    else:
        span = func.extract("epoch", Capture.finished_at - Capture.started_at)
    row = s.execute(
        select(
            *(func.coalesce(func.sum(case((span <= b, 1), else_=0)), 0) for b in _BUCKETS),
            func.coalesce(func.sum(span), 0.0),
            func.count(),
        ).where(
            Capture.status == CaptureStatus.SUCCEEDED,
            Capture.started_at.is_not(None),
            Capture.finished_at.is_not(None),
        )
    ).one()
    *buckets, total, count = row
    return [int(n) for n in buckets], float(total), int(count)


class CachedMetrics:
    """:func:`metrics`, computed at most once every ``ttl_s`` seconds however often it is
    scraped (several Prometheus servers, a reload storm)."""

    def __init__(self, db: Database, ttl_s: float = METRICS_TTL_S) -> None:
        self.db, self.ttl_s = db, ttl_s
        self._lock = threading.Lock()
        self._text = ""
        self._at = float("-inf")

    def __call__(self) -> str:
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.ttl_s:
                self._text, self._at = metrics(self.db), now
            return self._text


# ---------------------------------------------------------------------- doctor


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def doctor(settings: Settings, db: Database, *, full: bool = False) -> list[Check]:
    checks: list[Check] = []
    exe = Path(settings.chromium_path)
    if exe.is_file():
        try:
            out = subprocess.run(
                [str(exe), "--headless", "--no-sandbox", "--version"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            checks.append(
                Check("browser", out.returncode == 0, out.stdout.strip() or out.stderr.strip())
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            checks.append(Check("browser", False, f"{exe}: {exc}"))
    else:
        checks.append(Check("browser", False, f"{exe} not found (./scripts/setup installs it)"))
    fonts = shutil.which("fc-list")
    families = (
        subprocess.run([fonts, ":", "family"], capture_output=True, text=True).stdout
        if fonts
        else ""
    )
    checks.append(
        Check("fonts", "DejaVu" in families, "DejaVu found" if "DejaVu" in families
              else "DejaVu fonts missing: Kazakh letters will not render in notices")
    )  # fmt: skip
    from evidence.chromium import sandbox_report

    sandbox = sandbox_report(
        settings.chromium_path, settings.chromium_sandbox, settings.browser_profile_dir
    )
    checks.append(Check("browser sandbox", *sandbox))
    checks.append(_migrations(db))
    checks.append(_rule_engine())
    settings.ensure_home()
    free = shutil.disk_usage(settings.home).free
    checks.append(
        Check("disk", free > 1 << 30, f"{free / (1 << 30):.1f} GiB free under {settings.home}")
    )
    checks.append(_evidence(settings, db, full))
    return checks


def _rule_engine() -> Check:
    """Which scanner and fold the rules run on. Either fallback is correct, only slower,
    so it is reported, not failed."""
    from rules import normalize, scanner

    scan = "Hyperscan" if scanner.hyperscan is not None else "Aho-Corasick (no Hyperscan)"
    fold = (
        "compiled fold"
        if normalize._compiled is not None
        else "pure-Python fold (rules/_fold.c not built: ./scripts/setup with a C compiler)"
    )
    return Check("rules", True, f"{scan}, {fold}")


def _migrations(db: Database) -> Check:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from kuzet.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return Check("database", current == head, f"schema {current}, newest {head}")


def _evidence(settings: Settings, db: Database, full: bool) -> Check:
    """Every file of the newest captures (all with ``full``) re-hashed; the custody log walked."""
    from evidence.manifest import verify_all
    from evidence.store import LocalArtifactStore

    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        ids = None
        if not full:
            ids = s.scalars(
                select(Capture.id)
                .where(Capture.status == CaptureStatus.SUCCEEDED)
                .order_by(Capture.id.desc())
                .limit(20)
            ).all()
        n, problems = verify_all(s, store, ids)
    if problems:
        return Check("evidence", False, f"{len(problems)} problems, first: {problems[0]}")
    return Check("evidence", True, f"{n} captures re-hashed, custody log intact")


# ---------------------------------------------------------------------- logs


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a command run inside
    another program, a test runner, may swap and close the one it started with)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(json_logs: bool, level: int = logging.INFO) -> None:
    handler = _StderrHandler()
    handler.setFormatter(
        JsonFormatter() if json_logs
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )  # fmt: skip
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    redact.install([handler])  # a URL's password never reaches a log line
