"""Child-process entry point: ``python -m crawler.run RUN_ID [RUN_ID ...]``.

Each crawl runs in its own process because Twisted's reactor cannot be restarted;
the parent talks to it only through the database (the CrawlRun rows).
"""

from __future__ import annotations

import argparse
import sys

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.database import database_for
from crawler.spiders.site import SiteSpider
from kuzet.db import utcnow
from kuzet.models import CrawlRun, CrawlStatus


def _finish_run(crawler: Crawler, run_id: int) -> None:
    def on_closed(spider: object, reason: str) -> None:
        stats = {k: v for k, v in (crawler.stats.get_stats() or {}).items()}
        db = database_for(crawler)
        with db.session() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            run.status = CrawlStatus.SUCCEEDED if reason == "finished" else CrawlStatus.FAILED
            if reason != "finished":
                run.error = f"spider closed: {reason}"
            run.stats = {
                k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in stats.items()
            }

    crawler.signals.connect(on_closed, signal=signals.spider_closed, weak=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run")
    parser.add_argument("run_ids", type=int, nargs="+")
    parser.add_argument("--log-file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    settings = get_project_settings()
    if args.log_file:
        settings.set("LOG_FILE", args.log_file)
    settings.set("LOG_LEVEL", args.log_level)
    process = CrawlerProcess(settings)
    from kuzet.db import Database

    db = Database(settings.get("KUZET_DATABASE_URL"), migrate=False)
    with db.session() as session:
        runs = [session.get(CrawlRun, rid) for rid in args.run_ids]
        specs = []
        for run in runs:
            if run is None:
                print("unknown crawl run id", file=sys.stderr)
                return 2
            src = run.source
            specs.append((run.id, src.id, src.start_url, src.max_depth, src.max_pages))
    for run_id, source_id, start_url, max_depth, max_pages in specs:
        c = process.create_crawler(SiteSpider)
        _finish_run(c, run_id)
        process.crawl(
            c,
            source_id=source_id,
            crawl_run_id=run_id,
            start_url=start_url,
            max_depth=max_depth,
            max_pages=max_pages,
        )
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
