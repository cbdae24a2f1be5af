"""Start crawls from the app: validate rules, open CrawlRun rows, run Scrapy in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from kuzet.config import Settings
from kuzet.db import Database, utcnow
from kuzet.models import CrawlRun, CrawlStatus, Source
from rules.loader import load_rules


class CrawlError(RuntimeError):
    pass


@dataclass
class CrawlResult:
    run_ids: list[int]
    returncode: int
    log_file: str


def run_crawl(
    settings: Settings,
    db: Database,
    sources: Sequence[str] | None = None,
    *,
    log_level: str = "INFO",
) -> CrawlResult:
    """Crawl the named sources (all enabled ones by default) and wait for the crawl to end.

    The rule packs are validated first: an invalid pack raises
    :class:`rules.loader.RulePackError` before anything is fetched.
    """
    load_rules(settings.rules_dir)
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
        run_ids = [r.id for r in runs]

    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"crawl-{run_ids[0]}.log"
    env = {**os.environ, **settings.to_env(), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.run",
            *map(str, run_ids),
            "--log-file",
            str(log_file),
            "--log-level",
            log_level,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    # A child that died before closing its spiders leaves runs "running": mark them failed.
    with db.session() as session:
        for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(run_ids))):
            if run.status not in CrawlStatus.FINAL:
                run.status = CrawlStatus.FAILED
                run.finished_at = utcnow()
                tail = (proc.stderr or "").strip().splitlines()[-5:]
                run.error = f"crawl process exited with {proc.returncode}: " + " | ".join(tail)
    return CrawlResult(run_ids=run_ids, returncode=proc.returncode, log_file=str(log_file))
