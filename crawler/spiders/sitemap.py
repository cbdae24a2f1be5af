"""Sitemaps: a sitemap index leads to sitemaps, a sitemap to pages (news sitemaps give
each page's publication date and title). Pages are fetched, not crawled further."""

from __future__ import annotations

from typing import Any

import lxml.etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number

from crawler.budget import LocalBudget, PageBudget
from crawler.spiders.base import KuzetSpider
from kuzet.models import FetchStatus

_MAX_SITEMAPS = 200


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class SitemapSpider(KuzetSpider):
    name = "sitemap"

    def __init__(self, *args: Any, budget: PageBudget | None = None, **kwargs: Any) -> None:
        # The limit counts the pages listed, not the sitemaps leading to them.
        super().__init__(*args, budget=budget or LocalBudget(set()), **kwargs)
        self._sitemaps = 0

    def parse(self, response: Response) -> Any:
        if not response.meta.get("kuzet_sitemap", True):
            yield self.response_item(response)  # a page listed in a sitemap
            return
        body = response.body
        if gzip_magic_number(response):
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            root = lxml.etree.fromstring(
                body, parser=lxml.etree.XMLParser(recover=True, resolve_entities=False)
            )
        except lxml.etree.XMLSyntaxError:
            root = None
        if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
            yield self.response_item(
                response,
                fetch_status=FetchStatus.FAILED.value,
                store_page=False,
                error="not a sitemap",
            )
            return
        depth = response.meta.get("depth", 0)
        requests: list[tuple[str, dict[str, Any]]] = []
        if _local(root.tag) == "sitemapindex":
            for loc in root.iter("{*}loc"):
                url = (loc.text or "").strip()
                if url and url not in self._scheduled and self._sitemaps < _MAX_SITEMAPS:
                    self._sitemaps += 1
                    requests.append((url, {"kuzet_sitemap": True}))
        else:
            entries: dict[str, dict[str, str]] = {}
            for entry in root.iter("{*}url"):
                fields = {
                    _local(el.tag): (el.text or "").strip()
                    for el in entry.iter()
                    if el is not entry
                }
                url = fields.get("loc", "")
                if url and url not in self._scheduled:
                    entries.setdefault(url, fields)
            admitted = self.budget.admit(list(entries), self.source.max_pages)
            for (url, fields), ok in zip(entries.items(), admitted, strict=True):
                if not ok:
                    continue
                requests.append(
                    (
                        url,
                        {
                            "kuzet_sitemap": False,
                            "kuzet_published_at": fields.get("publication_date")
                            or fields.get("lastmod"),
                            "kuzet_news_title": fields.get("title"),
                        },
                    )
                )
        links = [(url, depth + 1) for url, _ in requests]
        yield self.response_item(response, store_page=False, links=links)
        for (url, meta), (_, d) in zip(requests, links, strict=True):
            yield self.request(url, d, meta=meta)

    def response_item(self, response: Response, **kw: Any) -> Any:
        item = super().response_item(response, **kw)
        if response.meta.get("kuzet_news_title"):
            item.meta["news_title"] = response.meta["kuzet_news_title"]
        return item
