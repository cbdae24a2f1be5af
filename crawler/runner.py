"""Start crawls from the app: validate rules, open CrawlRun rows, and run the crawl and
its analysis in two child processes that hand pages over through the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from kuzet.config import Settings
from kuzet.db import Database, utcnow
from kuzet.models import (
    AnalysisStatus,
    CrawlRun,
    CrawlStatus,
    Detection,
    FrontierEntry,
    FrontierStatus,
    Page,
    Source,
)
from kuzet.procs import alive
from rules.loader import load_rules


class CrawlError(RuntimeError):
    pass


@dataclass
class Progress:
    done: int = 0
    pending: int = 0
    failed: int = 0
    stored: int = 0
    analysed: int = 0
    detections: int = 0


@dataclass
class CrawlResult:
    run_ids: list[int]
    returncode: int
    log_file: str
    errors: list[str] = field(default_factory=list)


def progress(db: Database, run_ids: Sequence[int]) -> Progress:
    ids = list(run_ids)
    p = Progress()
    with db.session() as s:
        frontier = dict(
            s.execute(
                select(FrontierEntry.status, func.count())
                .where(FrontierEntry.crawl_run_id.in_(ids))
                .group_by(FrontierEntry.status)
            ).all()
        )
        p.done = frontier.get(FrontierStatus.DONE, 0)
        p.pending = frontier.get(FrontierStatus.PENDING, 0)
        p.failed = frontier.get(FrontierStatus.FAILED, 0)
        for status, n in s.execute(
            select(Page.analysis_status, func.count())
            .where(Page.crawl_run_id.in_(ids))
            .group_by(Page.analysis_status)
        ):
            p.stored += n
            if status in AnalysisStatus.FINAL:
                p.analysed += n
        p.detections = (
            s.scalar(select(func.count(Detection.id)).join(Page).where(Page.crawl_run_id.in_(ids)))
            or 0
        )
    return p


def interrupted_runs(db: Database) -> list[int]:
    """Runs whose crawl process is gone while their frontier still has pending URLs."""
    with db.session() as s:
        runs = s.scalars(
            select(CrawlRun).where(
                CrawlRun.status != CrawlStatus.SUCCEEDED,
                CrawlRun.distributed.is_(False),  # the crawl workers carry those on
                select(FrontierEntry.id)
                .where(
                    FrontierEntry.crawl_run_id == CrawlRun.id,
                    FrontierEntry.status == FrontierStatus.PENDING,
                )
                .exists(),
            )
        ).all()
        return [r.id for r in runs if not alive(r.pid, r.host)]


def _reopen(db: Database, run_ids: Sequence[int]) -> None:
    with db.session() as s:
        for run in s.scalars(select(CrawlRun).where(CrawlRun.id.in_(list(run_ids)))):
            run.status, run.finished_at, run.error, run.pid = CrawlStatus.RUNNING, None, None, None


def run_crawl(
    settings: Settings,
    db: Database,
    sources: Sequence[str] | None = None,
    *,
    resume: bool = False,
    log_level: str = "INFO",
    on_progress: Callable[[Progress], None] | None = None,
    scrapy_settings: dict[str, str] | None = None,
) -> CrawlResult:
    """Crawl the named sources (all enabled ones by default), or with ``resume`` continue
    the interrupted runs, and wait until crawl and analysis are finished.

    The rule packs are validated first: an invalid pack raises
    :class:`rules.loader.RulePackError` before anything is fetched.
    """
    load_rules(settings.rules_dir)
    if resume:
        run_ids = interrupted_runs(db)
        if not run_ids:
            raise CrawlError("no interrupted crawl to resume")
        _reopen(db, run_ids)
    else:
        run_ids = _open_runs(db, sources)

    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"crawl-{run_ids[0]}.log"
    env = {**os.environ, **settings.to_env(), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    ids = [str(i) for i in run_ids]
    crawl_cmd = [
        sys.executable,
        "-m",
        "crawler.run",
        *ids,
        "--log-file",
        str(log_file),
        "--log-level",
        log_level,
    ]
    if resume:
        crawl_cmd.append("--resume")
    for name, value in (scrapy_settings or {}).items():
        crawl_cmd += ["--set", f"{name}={value}"]
    analysis_log = Path(str(log_file).replace("crawl-", "analysis-"))
    crawl = subprocess.Popen(
        crawl_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    analysis = subprocess.Popen(
        [sys.executable, "-m", "rules.analyze", "--follow", *ids, "--log-file", str(analysis_log)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    crawl_err = ""
    try:
        while crawl.poll() is None:
            if on_progress:
                on_progress(progress(db, run_ids))
            time.sleep(0.5)
        crawl_err = crawl.stderr.read() if crawl.stderr else ""
        # A crawl process that died before closing its spiders leaves runs "running":
        # they can be resumed; for the analysis worker they are over.
        died = _close_dead_runs(db, run_ids, crawl.returncode, crawl_err)
        while analysis.poll() is None:
            if on_progress:
                on_progress(progress(db, run_ids))
            time.sleep(0.3)
    finally:
        for proc in (crawl, analysis):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
    if on_progress:
        on_progress(progress(db, run_ids))
    errors = []
    if died:
        errors.append(f"crawl process exited with {crawl.returncode}: {_tail(crawl_err)}")
    if analysis.returncode != 0:
        out = analysis.stderr.read() if analysis.stderr else ""
        errors.append(f"analysis exited with {analysis.returncode}: {_tail(out)}")
    return CrawlResult(run_ids, crawl.returncode or analysis.returncode, str(log_file), errors)


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-5:])


def _open_runs(db: Database, sources: Sequence[str] | None) -> list[int]:
    with db.session() as session:
        query = select(Source).where(Source.enabled.is_(True))
        if sources:
            query = select(Source).where(Source.name.in_(list(sources)))
        found = list(session.scalars(query.order_by(Source.id)))
        if sources:
            missing = sorted(set(sources) - {s.name for s in found})
            if missing:
                raise CrawlError(f"unknown source(s): {', '.join(missing)}")
        if not found:
            raise CrawlError("no enabled sources to crawl")
        runs = [CrawlRun(source_id=s.id) for s in found]
        session.add_all(runs)
        session.flush()
        return [r.id for r in runs]


def _close_dead_runs(db: Database, run_ids: Sequence[int], returncode: int, stderr: str) -> bool:
    died = False
    with db.session() as session:
        for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(list(run_ids)))):
            if run.status not in CrawlStatus.FINAL:
                died = True
                run.status = CrawlStatus.FAILED
                run.finished_at = utcnow()
                run.error = f"crawl process exited with {returncode}: {_tail(stderr)}"
    return died
