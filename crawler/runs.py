"""Which spider speaks for a crawl run: one spider per process, or per run in a
distributed crawl worker (which crawls many runs at once)."""

from __future__ import annotations

from typing import Any


def source_spider(crawler: Any, run_id: int | None, url: str | None = None) -> Any:
    """The spider that speaks for a crawl run's source (proxy, private addresses, robots):
    the crawl's own spider, or in a distributed crawl worker the run's source spider.

    A request of no run there (robots.txt, which Scrapy asks for on behalf of the request
    it holds back) speaks for the last run whose request went to the same host (``url``):
    it goes the same way, through the same proxy."""
    spider = crawler.spider
    per_run = getattr(spider, "run_spider", None)
    if per_run is None:
        return spider
    return per_run(None if run_id is None else int(run_id), url)
