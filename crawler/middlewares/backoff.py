"""Retries with exponential backoff (Scrapy's retry middleware retries at once).

The n-th retry of a request waits ``KUZET_RETRY_BACKOFF_BASE * 2**(n-1)`` seconds, capped
by ``KUZET_RETRY_BACKOFF_MAX``, before it is downloaded again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response

DELAY_KEY = "kuzet_retry_delay"


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base = crawler.settings.getfloat("KUZET_RETRY_BACKOFF_BASE", 1.0)
        self.cap = crawler.settings.getfloat("KUZET_RETRY_BACKOFF_MAX", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def _with_delay(self, result: Any) -> Any:
        if isinstance(result, Request):
            n = int(result.meta.get("retry_times", 1))
            result.meta[DELAY_KEY] = min(self.cap, self.base * 2 ** (n - 1))
            self.crawler.stats.inc_value("kuzet/retry/delayed")
        return result

    def process_request(self, request: Request) -> Any:
        # Synchronous unless this is a delayed retry: an async method costs every request.
        delay = request.meta.pop(DELAY_KEY, 0)
        return asyncio.sleep(delay) if delay else None

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        return self._with_delay(super().process_response(request, response))

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> Any:
        return self._with_delay(super().process_exception(request, exception))
