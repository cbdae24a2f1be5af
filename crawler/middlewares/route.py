"""Send every request of a crawl the way its source says: through its proxy, or through
the browser. Every request: robots.txt too, which Scrapy builds itself without the
spider's meta, and which would otherwise leave from this machine's own address."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.runs import source_spider


def browser_context(spider: Any) -> str:
    """The name of a distributed worker's browser context for a run."""
    return f"run-{spider.crawl_run_id}"


class SourceRouteMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceRouteMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        spider = source_spider(self.crawler, request.meta.get("kuzet_run"), request.url)
        if getattr(spider, "rendered", False):
            # The browser context carries the proxy and the login profile.
            request.meta.setdefault("playwright", True)
            if spider is self.crawler.spider:
                request.meta.setdefault("playwright_context", "kuzet")  # from the settings
            else:
                # A distributed crawl worker's run: a context of the run's own, opened
                # by the first request that needs it, closed when the run is over.
                request.meta.setdefault("playwright_context", browser_context(spider))
                request.meta.setdefault("playwright_context_kwargs", spider.context_options())
            if getattr(spider, "proxy", None):
                request.meta["kuzet_proxied"] = True  # the browser's proxy resolves the host
        else:
            proxy = getattr(spider, "proxy", None)
            if proxy:
                request.meta.setdefault("proxy", proxy)
        return None
