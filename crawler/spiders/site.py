"""Site spider: follow same-site links from the start URL within depth, page limit,
allow/deny patterns and trap bounds."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.links import LinkFinder
from crawler.spiders.base import KuzetSpider, media_type
from crawler.traps import TrapGuard

HTML_TYPES = ("text/html", "application/xhtml+xml")


class SiteSpider(KuzetSpider):
    name = "site"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._links = LinkFinder()
        self._traps = TrapGuard()

    def _load(self) -> None:
        super()._load()
        self._netloc = urlsplit(self.source.start_url).netloc.lower()
        self._allow = [re.compile(p) for p in self.source.allow or []]
        self._deny = [re.compile(p) for p in self.source.deny or []]

    def follow(self, url: str) -> bool:
        # Cheapest test first: on a well-linked site most links are already scheduled.
        if url in self._scheduled or urlsplit(url).netloc.lower() != self._netloc:
            return False
        if self._deny and any(p.search(url) for p in self._deny):
            return False
        if self._allow and not any(p.search(url) for p in self._allow):
            return False
        trap = self._traps.reason(url)
        if trap:
            self.crawler.stats.inc_value("kuzet/links/trap")
            self.logger.debug("Not following %(url)s: %(reason)s", {"url": url, "reason": trap})
            return False
        return True

    def parse(self, response: Response) -> Any:
        depth = response.meta.get("depth", 0)
        page = response
        if response.status == 304:
            body = self.stored_body(response.url)
            page = HtmlResponse(url=response.url, body=body or b"", encoding="utf-8")
        content_type, _ = media_type(page)
        if not isinstance(page, TextResponse) or (content_type and content_type not in HTML_TYPES):
            self.crawler.stats.inc_value("kuzet/pages/skipped_type")
            yield self.response_item(response, store_page=False)
            return
        links: list[tuple[str, int]] = []
        if depth < self.source.max_depth:
            # dict: a page may link one URL twice (say, with two fragments)
            found = list(dict.fromkeys(u for u in self._links.new_links(page) if self.follow(u)))
            admitted = self.budget.admit(found, self.source.max_pages)
            links = [(url, depth + 1) for url, ok in zip(found, admitted, strict=True) if ok]
            if len(links) < len(found):
                self.crawler.stats.inc_value("kuzet/pages/over_limit", len(found) - len(links))
        yield self.response_item(response, links=links)
        for url, d in links:
            yield self.request(url, d)
