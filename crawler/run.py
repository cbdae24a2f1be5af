"""Child-process entry point: ``python -m crawler.run RUN_ID [RUN_ID ...] [--resume]``.

Each crawl runs in its own process because Twisted's reactor cannot be restarted; the
parent talks to it only through the database (CrawlRun, frontier and page rows).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.database import database_for
from crawler.render import browser_settings, launch_settings, needs_browser
from crawler.spiders import spider_for
from kuzet.db import Database, utcnow
from kuzet.models import CrawlRun, CrawlStatus, Source
from kuzet.netguard import own_hosts
from kuzet.profiles import profile_path

logger = logging.getLogger(__name__)


class KuzetCrawlerProcess(CrawlerProcess):
    """Scrapy's process, except that SIGTERM again does not force an unclean stop.

    A crawl process often gets one stop twice: SIGTERM to its whole process group (a
    supervisor, systemd, ``kill -- -PGID``) reaches it and its parent, and the parent
    passes it on. Scrapy reads a second signal as "force": the spider is not closed, so
    no stats are written, the run is not finished and a distributed worker's requests
    are not put back (the others wait for its heartbeat to expire). A second SIGINT
    (Ctrl-C twice) still forces, and SIGKILL always does.
    """

    def _signal_kill(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGTERM:
            from twisted.internet import reactor

            reactor.callFromThread(
                logger.info, "Received SIGTERM again: still shutting down gracefully"
            )
            return
        super()._signal_kill(signum, frame)


def spider_class(settings: Any, source: Source) -> type:
    """The source's spider; for a browser-fetched source, a subclass with browser settings."""
    cls = spider_for(source.kind)
    proxy = source.proxy or settings.get("KUZET_PROXY") or None
    if not needs_browser(source.render, proxy):
        return cls
    home = settings.get("KUZET_HOME") or "."
    state = None
    if source.login_profile:
        state = str(profile_path(Path(home) / "profiles", source.login_profile))
    custom = browser_settings(
        chromium=settings.get("KUZET_CHROMIUM"),
        home=home,
        sandbox=settings.get("KUZET_CHROMIUM_SANDBOX") or "auto",
        proxy=proxy,
        storage_state=state,
        private_hosts=own_hosts(source.start_url) if source.allow_private else (),
    )
    return type(f"Browser{cls.__name__}", (cls,), {"custom_settings": custom})


def _finish_run(crawler: Crawler, run_id: int) -> None:
    def on_closed(spider: object, reason: str) -> None:
        stats = dict(crawler.stats.get_stats() or {})
        with database_for(crawler).session() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            run.status = CrawlStatus.SUCCEEDED if reason == "finished" else CrawlStatus.FAILED
            if reason != "finished":
                run.error = f"spider closed: {reason}"
            run.pid = None
            run.stats = {
                k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in stats.items()
            }

    crawler.signals.connect(on_closed, signal=signals.spider_closed, weak=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run")
    parser.add_argument("run_ids", type=int, nargs="*")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="be a crawl worker of the shared Redis queue (KUZET_REDIS_URL) until stopped",
    )
    parser.add_argument("--resume", action="store_true", help="continue runs from their frontier")
    parser.add_argument("--log-file")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting (as `scrapy crawl -s`)",
    )
    args = parser.parse_args(argv)

    settings = get_project_settings()
    if args.log_file:
        settings.set("LOG_FILE", args.log_file)
    settings.set("LOG_LEVEL", args.log_level)
    for pair in args.set:
        name, _, value = pair.partition("=")
        settings.set(name, value, priority="cmdline")
    if args.distributed:
        return _distributed(settings)
    if not args.run_ids:
        parser.error("name the crawl runs, or --distributed")
    db = Database(settings.get("KUZET_DATABASE_URL"), migrate=False)
    specs = []
    with db.session() as session:
        for rid in args.run_ids:
            run = session.get(CrawlRun, rid)
            if run is None:
                print(f"unknown crawl run {rid}", file=sys.stderr)
                return 2
            run.pid, run.host = os.getpid(), socket.gethostname()
            specs.append((run.id, run.source_id, spider_class(settings, run.source)))
    process = KuzetCrawlerProcess(settings)
    for run_id, source_id, spidercls in specs:
        crawler = process.create_crawler(spidercls)
        _finish_run(crawler, run_id)
        process.crawl(crawler, source_id=source_id, crawl_run_id=run_id, resume=args.resume)
    process.start()
    return 0


def _distributed(settings: Any) -> int:
    from crawler.distributed import scrapy_settings
    from crawler.spiders.distributed import DistributedSpider

    url = settings.get("KUZET_REDIS_URL")
    if not url:
        print("KUZET_REDIS_URL is not set", file=sys.stderr)
        return 2
    # Browser fetching too, for the runs of rendered sources (the browser starts with
    # the first request that needs it).
    browser = launch_settings(
        chromium=settings.get("KUZET_CHROMIUM"),
        home=settings.get("KUZET_HOME") or ".",
        sandbox=settings.get("KUZET_CHROMIUM_SANDBOX") or "auto",
    )
    for name, value in {**scrapy_settings(url), **browser}.items():
        settings.set(name, value, priority="cmdline")
    process = KuzetCrawlerProcess(settings)
    process.crawl(DistributedSpider)
    process.start()
    # A worker refused at start (an open Redis on another host) must not look like success.
    return 1 if process.bootstrap_failed else 0


if __name__ == "__main__":
    sys.exit(main())
