"""Distributed crawl workers: a link holds the lease of the response it was found in until
it is in the shared queue.

A worker lets go of a popped request (its lease, see :mod:`crawler.distributed`) only
when nothing it led to can be lost if the worker dies. Scrapy hands a callback's output
to the scheduler some time after the callback has returned (through a queue of its own),
so the callback being over is not enough: each request leaving the spider middlewares
holds the lease too, and the scheduler lets go of it once the request is queued.

This middleware sits nearest the engine, so it sees only requests no other middleware
dropped: each request it holds for does reach the scheduler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

PARENT_LEASE = "kuzet_parent_lease"


class LeaseMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("KUZET_DISTRIBUTED"):
            raise NotConfigured("only distributed crawl workers hold leases")
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseMiddleware:
        return cls(crawler)

    def _hold(self, response: Response, out: Any) -> Any:
        if not isinstance(out, Request):
            return out
        lease = response.meta.get("kuzet_lease")
        if lease:
            out.meta[PARENT_LEASE] = lease
            self.crawler.spider.worker.hold(lease)  # type: ignore[union-attr]
        return out

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        for out in result:
            yield self._hold(response, out)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for out in result:
            yield self._hold(response, out)
