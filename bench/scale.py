"""Scale benchmark: pages/min of 1 vs 2 distributed crawl workers, captures/min of 1 vs 2
capture workers, and the database's rows/s, in one run, all on loopback: PostgreSQL and
Redis started here, four local sites of tree-linked news pages (one in 20 flagged).

    python -m bench.scale [--pages 600]

The crawl workers share one pace per site (as fast as one process's AutoThrottle would
go), so more workers do not crawl one site faster: they crawl more sites at once, hence
four sites (the pages are split between them).

Last line: {"pages_per_min_1", "pages_per_min_2", "captures_per_min_1", "captures_per_min_2",
"db_rows_per_s_1", "db_rows_per_s_2"}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from crawler.distributed import start_runs
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import Capture, CaptureStatus, CrawlRun, CrawlStatus, FrontierEntry, Page, Source
from tests.pgserver import PostgresServer
from tests.redisserver import RedisServer
from tests.webserver import WebServer, tree_site
from tests.workers import spawn_worker, stop_workers, wait_for

CASINO = "Онлайн-казино: бонус на первый депозит, фриспины и джекпот!"
NEWS = "Жаңалық {i}: Астанада ауа райы жақсы, жолдар ашық, мектептер жұмыс істеп тұр."


def text(i: int) -> str:
    flagged = CASINO if i % 20 == 7 else NEWS.format(i=i)
    return f"<article><p>{flagged}</p><p>{NEWS.format(i=i) * 20}</p></article>"


SITES = 4
TWO_AT_A_TIME = {"KUZET_CAPTURE_CONCURRENCY": "2"}


def one(workers: int, pg: PostgresServer, rd: RedisServer, pages: int, tmp: Path) -> dict:
    home = tmp / f"home-{workers}"
    settings = Settings.from_env(
        {
            "KUZET_HOME": str(home),
            "KUZET_DATABASE_URL": pg.new_database(),
            "KUZET_REDIS_URL": rd.new_url(),
        }
    )
    db = Database.from_settings(settings)
    logs = home / "bench-logs"
    logs.mkdir(parents=True)
    out: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        webs = [
            stack.enter_context(WebServer(tree_site(pages // SITES, text))) for _ in range(SITES)
        ]
        with db.session() as s:
            sources = [
                Source(
                    name=f"bench-{i}",
                    start_url=web.url + "/",
                    max_depth=50,
                    max_pages=10 * pages,
                    allow_private=True,
                )
                for i, web in enumerate(webs)
            ]
            s.add_all(sources)
            s.flush()
            sids = [src.id for src in sources]
        crawlers = [
            spawn_worker(settings, "crawl", log=logs / f"crawl-{i}.out") for i in range(workers)
        ]
        try:
            # Workers ready (Scrapy started) before the clock starts.
            wait_for(
                "the crawl workers' logs",
                lambda: len(list((home / "logs").glob("crawl-worker-*.log"))) == workers,
                60,
            )
            wait_for(
                "the crawl workers",
                lambda: all(
                    "ready" in p.read_text() for p in (home / "logs").glob("crawl-worker-*.log")
                ),
                60,
            )
            started = time.perf_counter()
            run_ids = start_runs(db, settings.redis_url or "", sids)

            def over() -> bool:
                with db.session() as s:
                    return all(s.get(CrawlRun, r).status in CrawlStatus.FINAL for r in run_ids)

            wait_for("the run to finish", over, 600)
            took = time.perf_counter() - started
        finally:
            stop_workers(crawlers, grace_s=90)
        with db.session() as s:
            stored = s.scalar(select(func.count(Page.id)).where(Page.crawl_run_id.in_(run_ids)))
            frontier = s.scalar(
                select(func.count(FrontierEntry.id)).where(FrontierEntry.crawl_run_id.in_(run_ids))
            )
            flagged = s.scalar(select(func.count(Capture.id)))
        out["pages_per_min"] = stored / took * 60
        # pages + their bodies + frontier rows, written while crawling
        out["db_rows_per_s"] = (2 * stored + frontier) / took
        print(f"{workers} crawl worker(s): {stored} pages in {took:.1f} s", flush=True)

        capturers = [
            spawn_worker(settings, "capture", log=logs / f"capture-{i}.out", env=TWO_AT_A_TIME)
            for i in range(workers)
        ]
        started = time.perf_counter()
        try:

            def captured() -> bool:
                with db.session() as s:
                    return (
                        s.scalar(
                            select(func.count(Capture.id)).where(
                                Capture.status.in_(list(CaptureStatus.FINAL))
                            )
                        )
                        == flagged
                    )

            wait_for("the captures", captured, 900)
            took = time.perf_counter() - started
        finally:
            stop_workers(capturers, grace_s=90)
        with db.session() as s:
            ok = s.scalar(
                select(func.count(Capture.id)).where(Capture.status == CaptureStatus.SUCCEEDED)
            )
        out["captures_per_min"] = ok / took * 60
        print(f"{workers} capture worker(s): {ok} of {flagged} captures in {took:.1f} s")
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=600)
    args = parser.parse_args()
    pg, rd = PostgresServer().start(), RedisServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="kuzet-scale-") as tmp:
            r1 = one(1, pg, rd, args.pages, Path(tmp))
            r2 = one(2, pg, rd, args.pages, Path(tmp))
    finally:
        rd.stop()
        pg.stop()
    print(
        json.dumps(
            {
                "pages_per_min_1": round(r1["pages_per_min"], 1),
                "pages_per_min_2": round(r2["pages_per_min"], 1),
                "captures_per_min_1": round(r1["captures_per_min"], 1),
                "captures_per_min_2": round(r2["captures_per_min"], 1),
                "db_rows_per_s_1": round(r1["db_rows_per_s"], 1),
                "db_rows_per_s_2": round(r2["db_rows_per_s"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
