from __future__ import annotations

import asyncio
import time

from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.middlewares.backoff import DELAY_KEY, BackoffRetryMiddleware
from crawler.runner import run_crawl
from kuzet.models import FetchStatus, Page, Source
from tests.webserver import WebServer


def test_retries_back_off_exponentially() -> None:
    crawler = get_crawler(
        Spider,
        settings_dict={
            "RETRY_TIMES": 3,
            "KUZET_RETRY_BACKOFF_BASE": 0.5,
            "KUZET_RETRY_BACKOFF_MAX": 1.5,
        },
    )
    crawler.spider = crawler._create_spider("t")
    crawler.stats.open_spider()
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.1:1/x")
    delays = []
    for _ in range(3):
        request = mw.process_response(request, Response(request.url, status=503, request=request))
        assert isinstance(request, Request)
        delays.append(request.meta[DELAY_KEY])
    assert delays == [0.5, 1.0, 1.5]  # doubling, capped
    started = time.monotonic()
    waiting = mw.process_request(request)
    asyncio.run(waiting)
    assert time.monotonic() - started >= 1.4 and DELAY_KEY not in request.meta
    assert mw.process_request(request) is None  # no delay pending: nothing to await
    final = mw.process_response(request, Response(request.url, status=503, request=request))
    assert isinstance(final, Response)  # retries exhausted: the 503 goes on


def test_redirect_loop_is_a_recorded_failure(settings, db) -> None:
    loop = {
        "/a": lambda p, h: (302, {"Location": "/b"}, b""),
        "/b": lambda p, h: (302, {"Location": "/a"}, b""),
    }
    with WebServer(loop) as web:
        with db.session() as s:
            s.add(Source(name="loop", start_url=f"{web.url}/a", allow_private=True))
        run_crawl(settings, db, ["loop"])
        assert sum(web.page_hits().values()) <= 12  # bounded by REDIRECT_MAX_TIMES
    with db.session() as s:
        page = s.scalars(select(Page)).one()
        assert page.fetch_status == FetchStatus.FAILED and "max redirections" in page.error
