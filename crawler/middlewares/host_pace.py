"""Distributed crawl workers: one pace per host, over all workers.

AutoThrottle and the download delay act within one process, so N crawl workers would
put N times the load on a site. Here each request to a host first books a start time in
Redis (``kuzet:pace:<host>``): no earlier than the previous booking plus the host's delay
(this worker's AutoThrottle delay for it), and waits for it. Together the workers then
start requests to a host no faster than one process would.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed import PREFIX, redis_client

# KEYS: the host's key; ARGV: delay in ms. Returns how long to wait, in ms. Redis's clock
# is the one clock all workers share.
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local delay = tonumber(ARGV[1])
redis.call('SET', KEYS[1], start + delay, 'PX', start - now + delay + 1000)
return start - now
"""


class HostPaceMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("KUZET_DISTRIBUTED"):
            raise NotConfigured("one process paces itself")
        self.crawler = crawler
        self._book = redis_client(settings["REDIS_URL"]).register_script(_BOOK)
        start = settings.getfloat("DOWNLOAD_DELAY")
        if settings.getbool("AUTOTHROTTLE_ENABLED"):
            start = max(start, settings.getfloat("AUTOTHROTTLE_START_DELAY"))
        self.start_delay_s = start

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostPaceMiddleware:
        return cls(crawler)

    def delay_s(self, request: Request) -> float:
        """This worker's delay for the request's download slot (AutoThrottle adjusts it)."""
        try:
            downloader = self.crawler.engine.downloader
        except RuntimeError:  # no crawl running (yet)
            return self.start_delay_s
        slot = downloader.slots.get(downloader.get_slot_key(request))
        return float(slot.delay) if slot is not None else self.start_delay_s

    def book(self, host: str, delay_s: float) -> float:
        """Book the next start at ``host``; seconds to wait for it."""
        return int(self._book(keys=[f"{PREFIX}:pace:{host}"], args=[round(delay_s * 1000)])) / 1000

    async def process_request(self, request: Request) -> Any:
        delay = self.delay_s(request)
        if delay <= 0:
            return None
        wait = self.book(urlparse_cached(request).netloc.lower(), delay)
        if wait > 0:
            self.crawler.stats.inc_value("kuzet/distributed/paced")
            await asyncio.sleep(wait)
        return None
