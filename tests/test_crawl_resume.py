"""A crawl killed with SIGKILL resumes from its frontier: nothing stored is fetched again
and no detection is duplicated."""

from __future__ import annotations

import os
import signal
import threading
import time

from sqlalchemy import func, select

from crawler.runner import interrupted_runs, run_crawl
from kuzet.models import (
    CrawlRun,
    CrawlStatus,
    Detection,
    FrontierEntry,
    FrontierStatus,
    Page,
    Source,
)
from tests.webserver import WebServer

N = 150
CASINO = "Онлайн-казино: бонус на первый депозит, фриспины и джекпот!"


def route(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    if path == "/robots.txt":
        return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
    i = 0 if path == "/" else int(path.split("/")[-1].split(".")[0])
    links = "".join(f'<a href="/p/{j}.html">{j}</a>' for j in (i + 1, i + 2, i + 3) if j < N)
    text = CASINO if i % 25 == 3 else f"Жаңалық {i}: ауа райы жақсы."
    head = f"<head><meta charset=utf-8><title>Бет {i}</title></head>"
    body = f"<html>{head}<body><p>{text}</p>{links}</body></html>"
    return 200, {}, body.encode()


def test_killed_crawl_resumes_without_refetching_or_duplicating(settings, db) -> None:
    throttled = {
        "CONCURRENT_REQUESTS": "2",
        "AUTOTHROTTLE_ENABLED": "False",
        "KUZET_STORE_BATCH_SIZE": "5",
    }
    with WebServer(route, delay=0.03) as web:
        with db.session() as s:
            s.add(
                Source(
                    name="slow",
                    start_url=web.url + "/",
                    max_depth=200,
                    max_pages=1000,
                    allow_private=True,
                )
            )
        result: dict[str, object] = {}
        t = threading.Thread(
            target=lambda: result.update(r=run_crawl(settings, db, scrapy_settings=throttled))
        )
        t.start()
        deadline = time.monotonic() + 60
        killed = False
        while time.monotonic() < deadline and not killed:
            with db.session() as s:
                run = s.scalars(select(CrawlRun)).first()
                done = s.scalar(
                    select(func.count()).where(FrontierEntry.status == FrontierStatus.DONE)
                )
                if run and run.pid and done >= 40:
                    os.kill(run.pid, signal.SIGKILL)
                    killed = True
            time.sleep(0.05)
        t.join(60)
        assert killed, "the crawl finished before it could be killed"
        first = result["r"]
        assert first.errors and "exited with -9" in first.errors[0]
        with db.session() as s:
            stored_before = {p.url for p in s.scalars(select(Page))}
            run_id = s.scalars(select(CrawlRun)).one().id
        assert 0 < len(stored_before) < N
        assert interrupted_runs(db) == [run_id]
        hits_before = web.page_hits()

        second = run_crawl(settings, db, resume=True, scrapy_settings=throttled)
        assert second.errors == [] and second.run_ids == [run_id]

        with db.session() as s:
            run = s.get(CrawlRun, run_id)
            assert run.status == CrawlStatus.SUCCEEDED
            pages = s.scalars(select(Page)).all()
            urls = [p.url for p in pages]
            assert len(urls) == len(set(urls)) == N  # every page once, no duplicate version
            pending = s.scalar(
                select(func.count()).where(FrontierEntry.status == FrontierStatus.PENDING)
            )
            assert pending == 0
            dets = s.scalars(select(Detection)).all()
            flagged = {d.page.url for d in dets}
            assert flagged == {f"{web.url}/p/{i}.html" for i in range(N) if i % 25 == 3}
            assert len(dets) == len({(d.page_id, d.rule_id) for d in dets})
        assert interrupted_runs(db) == []
    hits = web.page_hits()
    for url in stored_before:
        path = url.removeprefix(web.url)
        assert hits[path] == 1, (path, hits[path])  # stored before the kill: never fetched again
    assert sum(hits.values()) - sum(hits_before.values()) <= N - len(stored_before) + 10


def test_sigterm_twice_still_closes_the_crawl_cleanly(settings, db) -> None:
    # A stop often arrives twice (to the process group, and passed on by the parent);
    # Scrapy would read the second SIGTERM as "force" and skip closing the spider: the
    # run would stay "running" with no stats.
    # Slow pages: the second SIGTERM comes while the first is still waiting for them.
    with WebServer(route, delay=0.6) as web:
        with db.session() as s:
            s.add(Source(name="slow", start_url=web.url + "/", max_depth=200, max_pages=1000,
                         allow_private=True))  # fmt: skip
        result: dict[str, object] = {}
        t = threading.Thread(
            target=lambda: result.update(
                r=run_crawl(settings, db, scrapy_settings={"CONCURRENT_REQUESTS": "2"})
            )
        )
        t.start()
        pid = None
        deadline = time.monotonic() + 60
        while pid is None and time.monotonic() < deadline:
            with db.session() as s:
                run = s.scalars(select(CrawlRun)).first()
                done = s.scalar(
                    select(func.count()).where(FrontierEntry.status == FrontierStatus.DONE)
                )
                if run and run.pid and done >= 4:
                    pid = run.pid
            time.sleep(0.05)
        assert pid is not None, "the crawl never got going"
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.2)
        os.kill(pid, signal.SIGTERM)
        t.join(90)
        assert not t.is_alive()
    with db.session() as s:
        run = s.scalars(select(CrawlRun)).one()
        assert run.status == CrawlStatus.FAILED and run.error == "spider closed: shutdown"
        assert run.stats and run.stats.get("kuzet/pages/fetched", 0) >= 4
        stored = s.scalar(select(func.count()).select_from(Page))
        assert 4 <= stored < N
