"""The proof of distributed crawling, on loopback: PostgreSQL, Redis, two crawl workers
and two capture workers (real processes) against a local site. Every page is stored once,
every flagged page captured once; killing a crawl worker and then a capture worker (each
its whole process group, as a host dying) loses nothing: the crawl worker's requests go
back to the queue for the other, the capture worker's job is taken over."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from crawler.distributed import start_runs
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import (
    Capture,
    CaptureStatus,
    CrawlRun,
    CrawlStatus,
    Detection,
    FrontierEntry,
    FrontierStatus,
    Page,
    Source,
)
from tests.webserver import WebServer, tree_site
from tests.workers import kill_group, spawn_worker, stop_workers, wait_for, worker_holding

DATA = Path(__file__).resolve().parent / "sample_data"
N = 120
CASINO = "Онлайн-казино: бонус на первый депозит, фриспины и джекпот!"
FLAGGED = {i for i in range(N) if i % 30 == 7}


def text(i: int) -> str:
    # Every page links back to the start page (fetched once all the same).
    return f"<p>{CASINO if i in FLAGGED else f'Жаңалық {i}: ауа райы жақсы, жол ашық.'}</p>"


ONE_AT_A_TIME = {"KUZET_CAPTURE_CONCURRENCY": "1"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_crawl_and_two_capture_workers_lose_and_repeat_nothing(
    settings, db, tmp_path, redis_server, chromium
) -> None:
    # A worker silent for 3 s is dead (30 s in production).
    settings = replace(settings, redis_url=redis_server.new_url(), crawl_worker_ttl_s=3)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with WebServer(tree_site(N, text), delay=0.05) as web:
            with db.session() as s:
                src = Source(
                    name="site",
                    start_url=web.url + "/",
                    max_depth=200,
                    max_pages=1000,
                    allow_private=True,
                )
                s.add(src)
                s.flush()
                source_id = src.id
            crawlers = [
                spawn_worker(settings, "crawl", log=logs / f"crawl-{i}.out", env=ONE_AT_A_TIME)
                for i in range(2)
            ]
            procs += crawlers
            [run_id] = start_runs(db, settings.redis_url or "", [source_id])

            def done_pages() -> int:
                with db.session() as s:
                    return s.scalar(
                        select(func.count()).where(
                            FrontierEntry.crawl_run_id == run_id,
                            FrontierEntry.status == FrontierStatus.DONE,
                        )
                    )

            server = redis.Redis.from_url(settings.redis_url or "")

            def busy_worker() -> subprocess.Popen[bytes] | None:
                # A worker holding requests: the one to kill, so that it loses some.
                keys = [k for k in server.scan_iter("kuzet:inflight:*") if server.hlen(k)]
                return worker_holding([int(k.decode().split(":")[-2]) for k in keys], crawlers)

            wait_for("a sixth of the site", lambda: done_pages() >= N // 6, 120)
            wait_for("a worker with requests in flight", lambda: busy_worker() is not None, 30)
            victim = busy_worker()
            assert victim is not None
            kill_group(victim)  # a crawl host dies mid-run
            survivor_log = logs / f"crawl-{1 - crawlers.index(victim)}.out"

            wait_for("the run to finish", lambda: run_over(db, run_id), 180)
            # Before the captures: the browser fetches flagged pages again.
            hits = dict(web.hits)
            capturers = [
                spawn_worker(settings, "capture", log=logs / f"capture-{i}.out", env=ONE_AT_A_TIME)
                for i in range(2)
            ]
            procs += capturers

            def capturing() -> subprocess.Popen[bytes] | None:
                # A capture worker in the middle of a capture: the one to kill.
                with db.session() as s:
                    pids = s.scalars(
                        select(Capture.worker_pid).where(Capture.status == CaptureStatus.RUNNING)
                    ).all()
                return worker_holding(pids, capturers)

            wait_for("a capture under way", lambda: capturing() is not None, 120)
            capture_victim = capturing()
            assert capture_victim is not None
            kill_group(capture_victim)  # a capture host dies mid-capture
            capture_log = logs / f"capture-{1 - capturers.index(capture_victim)}.out"

            def captures_over() -> bool:
                with db.session() as s:
                    statuses = s.scalars(select(Capture.status)).all()
                    return len(statuses) == len(FLAGGED) and all(
                        st in CaptureStatus.FINAL for st in statuses
                    )

            wait_for("all captures", captures_over, 240)
    finally:
        stop_workers(procs, grace_s=60)

    with db.session() as s:
        assert s.get(CrawlRun, run_id).status == CrawlStatus.SUCCEEDED
        urls = s.scalars(select(Page.url).where(Page.crawl_run_id == run_id)).all()
        expected = {web.url + "/"} | {f"{web.url}/p/{i}.html" for i in range(1, N)}
        assert sorted(urls) == sorted(expected)  # every page stored, none twice
        pending = s.scalar(select(func.count()).where(FrontierEntry.status != FrontierStatus.DONE))
        assert pending == 0
        flagged = s.scalars(select(Detection.page_id).distinct()).all()
        assert len(flagged) == len(FLAGGED)
        captures = s.scalars(select(Capture)).all()
        assert sorted(c.page_id for c in captures) == sorted(flagged)  # one each
        assert {c.status for c in captures} == {CaptureStatus.SUCCEEDED}
        # Taken over: the one capture the killed worker had under way (the kill came
        # in the middle of it: a capture takes seconds, the kill a moment).
        assert "was left running; queued" in capture_log.read_text()
        assert sum(c.attempts - 1 for c in captures) <= 1, [c.attempts for c in captures]
    # robots.txt was read (its request speaks for the source of the request it holds back).
    assert hits.get("/robots.txt", 0) >= 1
    # The start page is linked from every page, and was fetched once.
    assert hits["/"] == 1
    fetched = {p: n for p, n in hits.items() if p.startswith("/p/") or p == "/"}
    assert set(fetched) == {"/"} | {f"/p/{i}.html" for i in range(1, N)}
    # Both crawl workers fetched pages; the survivor put the dead one's requests back.
    survivor = survivor_log.read_text() + _crawl_logs(settings)
    assert "'kuzet/distributed/paced'" in survivor  # one pace for the site, over both
    put_back = re.findall(r"stopped: (\d+) requests and \d+ start URLs put back", survivor)
    assert put_back and int(put_back[0]) > 0, survivor[-3000:]
    # Only what the killed worker held (fetched, not stored yet) was fetched again.
    again = sum(n - 1 for n in fetched.values())
    assert again <= int(put_back[0]), {p: n for p, n in fetched.items() if n > 1}


def run_over(db: Database, run_id: int) -> bool:
    with db.session() as s:
        return s.get(CrawlRun, run_id).status in CrawlStatus.FINAL


def _crawl_logs(settings: Settings) -> str:
    return "".join(p.read_text() for p in (settings.home / "logs").glob("crawl-worker-*.log"))


def test_a_crawl_worker_fetches_a_rendered_source_through_its_browser(
    settings, db, tmp_path, redis_server, chromium
) -> None:
    # A page built by JavaScript: its text and its script-made link exist only rendered.
    js = DATA / "js"
    routes = {
        "/app/": lambda p, h: (200, {}, (js / "app.html").read_bytes()),
        "/app/second.html": lambda p, h: (200, {}, (js / "second.html").read_bytes()),
    }
    settings = replace(settings, redis_url=redis_server.new_url(), crawl_worker_ttl_s=3)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with WebServer(routes) as web:
            with db.session() as s:
                src = Source(
                    name="js", start_url=f"{web.url}/app/", render=True, allow_private=True
                )
                s.add(src)
                s.flush()
                source_id = src.id
            procs.append(spawn_worker(settings, "crawl", log=tmp_path / "crawl.out"))
            [run_id] = start_runs(db, settings.redis_url or "", [source_id])

            wait_for("the run to finish", lambda: run_over(db, run_id), 180)
            # The run's browser context is closed once the run is over.
            wait_for(
                "the run's browser context to close",
                lambda: f"Browser context run-{run_id} closed" in _crawl_logs(settings),
                30,
            )
    finally:
        stop_workers(procs, grace_s=60)
    with db.session() as s:
        assert s.get(CrawlRun, run_id).status == CrawlStatus.SUCCEEDED
        pages = {p.url.removeprefix(web.url): p for p in s.scalars(select(Page))}
        assert set(pages) == {"/app/", "/app/second.html"}
        assert pages["/app/"].title == "Звезда — лучшие бонусы"
        assert "бұлтты" in (pages["/app/second.html"].text or "")
