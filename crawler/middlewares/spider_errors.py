"""A callback that raises must not lose its page: record it as a failed fetch.

Scrapy only logs spider exceptions; the frontier entry would stay pending forever and the
operator would never see that a page could not be read. This middleware turns the
exception into a failed-fetch item carrying the error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Response

from kuzet.models import FetchStatus

logger = logging.getLogger(__name__)


class SpiderErrorsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SpiderErrorsMiddleware:
        return cls(crawler)

    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> Iterable[Any] | None:
        make_item = getattr(self.crawler.spider, "item", None)
        if make_item is None:
            return None
        self.crawler.stats.inc_value("kuzet/pages/parse_error")
        return [failed_item(make_item, response, exception)]


def failed_item(make_item: Any, response: Response, exception: Exception) -> Any:
    """The failed-fetch item for a response whose callback raised (logged here)."""
    logger.error(
        "Could not parse %(url)s: %(error)r",
        {"url": response.url, "error": exception},
        exc_info=exception,
    )
    url = response.meta.get("redirect_urls", [response.url])[0]
    return make_item(
        url,
        fetch_status=FetchStatus.FAILED.value,
        final_url=response.url,
        http_status=response.status,
        error=f"parse error: {type(exception).__name__}: {exception}",
        server_ip=str(response.ip_address) if response.ip_address else None,
        protocol=response.protocol,
    )
