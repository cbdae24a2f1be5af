"""Which spider speaks for a crawl run: one spider per process, or per run in a
distributed crawl worker (which crawls many runs at once)."""

from __future__ import annotations

from typing import Any


def source_spider(crawler: Any, run_id: int | None) -> Any:
    """The spider that speaks for a crawl run's source (proxy, private addresses, robots):
    the crawl's own spider, or in a distributed crawl worker the run's source spider."""
    spider = crawler.spider
    per_run = getattr(spider, "run_spider", None)
    if per_run is None or run_id is None:
        return spider
    return per_run(int(run_id))
