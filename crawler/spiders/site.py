"""Site spider: start URL, same-site links, depth and page limits from the Source row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extract import extract
from crawler.items import PageItem
from kuzet.db import utcnow
from kuzet.models import FetchStatus

HTML_TYPES = ("text/html", "application/xhtml+xml")


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(
        self,
        *args: Any,
        source_id: int,
        crawl_run_id: int,
        start_url: str,
        max_depth: int = 2,
        max_pages: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.source_id = int(source_id)
        self.crawl_run_id = int(crawl_run_id)
        self.start_url = start_url
        self.max_depth = int(max_depth)
        self.max_pages = int(max_pages)
        self._netloc = urlsplit(start_url).netloc.lower()
        self._scheduled: set[str] = set()
        self._links = LinkExtractor()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self._request(self.start_url, depth=0)

    def _request(self, url: str, depth: int) -> scrapy.Request:
        self._scheduled.add(url)
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            meta={"depth": depth},
            dont_filter=depth == 0,
        )

    def _item(self, url: str, **fields: Any) -> PageItem:
        return PageItem(
            source_id=self.source_id,
            crawl_run_id=self.crawl_run_id,
            url=url,
            fetched_at=utcnow(),
            **fields,
        )

    def parse(self, response: Response) -> Any:
        requested = response.meta.get("redirect_urls", [response.url])[0]
        content_type = (
            response.headers.get("Content-Type", b"")
            .decode("latin-1")
            .split(";")[0]
            .strip()
            .lower()
        )
        meta = {
            "final_url": response.url,
            "http_status": response.status,
            "content_type": content_type or None,
            "server_ip": str(response.ip_address) if response.ip_address else None,
            "protocol": response.protocol,
        }
        if not isinstance(response, TextResponse) or (
            content_type and content_type not in HTML_TYPES
        ):
            self.crawler.stats.inc_value("kuzet/pages/skipped_type")
            return
        html = response.text
        title, text = extract(html)
        yield self._item(
            requested,
            fetch_status=FetchStatus.OK.value,
            body=response.body,
            title=title,
            text=text,
            html=html,
            **meta,
        )
        depth = response.meta.get("depth", 0)
        if depth >= self.max_depth:
            return
        for link in self._links.extract_links(response):
            url = urldefrag(link.url).url
            if urlsplit(url).netloc.lower() != self._netloc or url in self._scheduled:
                continue
            if len(self._scheduled) >= self.max_pages:
                self.crawler.stats.inc_value("kuzet/pages/over_limit")
                return
            yield self._request(url, depth=depth + 1)

    def on_error(self, failure: Failure) -> Any:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # Refused on purpose (robots.txt, size cap): not a failed fetch.
            self.crawler.stats.inc_value("kuzet/pages/ignored")
            return
        fields: dict[str, Any] = {"fetch_status": FetchStatus.FAILED.value}
        if failure.check(HttpError):
            response = failure.value.response
            fields.update(
                final_url=response.url,
                http_status=response.status,
                server_ip=str(response.ip_address) if response.ip_address else None,
                protocol=response.protocol,
                error=f"HTTP {response.status}",
            )
        else:
            fields["error"] = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.crawler.stats.inc_value("kuzet/pages/failed")
        yield self._item(request.url, **fields)
