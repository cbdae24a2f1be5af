"""RSS and Atom feeds (YouTube channel feeds included).

With depth ≥ 1 the spider fetches every entry's linked page (news feeds: the article is
the content). With depth 0 each entry is stored as a page of its own — its title,
description and date — at the entry's link (YouTube: the video's title and description,
since the watch page itself is built by JavaScript).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from time import struct_time
from typing import Any

import feedparser
from scrapy.http import Response

from crawler.spiders.base import KuzetSpider
from kuzet.models import FetchStatus


def _date(entry: Any) -> str | None:
    parsed: struct_time | None = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime(*parsed[:6], tzinfo=UTC).isoformat()


class FeedSpider(KuzetSpider):
    name = "feed"

    def parse(self, response: Response) -> Any:
        depth = response.meta.get("depth", 0)
        if depth > 0:  # an entry's linked page
            yield self.response_item(response)
            return
        feed = feedparser.parse(
            response.body,
            response_headers={
                k.decode("latin-1").lower(): v[0].decode("latin-1")
                for k, v in response.headers.items()
            },
        )
        if feed.bozo and not feed.entries:
            yield self.response_item(
                response,
                fetch_status=FetchStatus.FAILED.value,
                meta={"analyze": False},
                error=f"not a feed: {feed.get('bozo_exception', 'unparsable')}",
            )
            return
        entries = [e for e in feed.entries if e.get("link")][: self.source.max_pages]
        follow = self.source.max_depth >= 1
        links = (
            [(e["link"], 1) for e in entries if e["link"] not in self._scheduled] if follow else []
        )
        # The feed document is kept (for its validators and history) but not analysed.
        yield self.response_item(
            response,
            links=links,
            meta={"kind": "feed", "analyze": False, "entries": len(feed.entries)},
        )
        for url, d in links:
            entry = next(e for e in entries if e["link"] == url)
            yield self.request(url, d, meta={"kuzet_published_at": _date(entry)})
        if not follow:
            for entry in entries:
                yield self._entry_item(response, entry)

    def _entry_item(self, response: Response, entry: Any) -> Any:
        title = entry.get("title", "")
        description = entry.get("media_description") or entry.get("summary", "")
        published = _date(entry)
        body = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"</head><body><article><h1>{html.escape(title)}</h1>"
            f'<time datetime="{published or ""}">{published or ""}</time>'
            f"<div>{html.escape(description)}</div></article></body></html>"
        )
        return self.item(
            entry["link"],
            fetch_status=FetchStatus.OK.value,
            final_url=entry["link"],
            http_status=response.status,
            content_type="text/html",
            charset="utf-8",
            body=body.encode(),
            server_ip=str(response.ip_address) if response.ip_address else None,
            protocol=response.protocol,
            frontier_url=self.source.start_url,
            meta={
                "kind": "feed_entry",
                "feed": self.source.start_url,
                "published_at": published,
                "entry_id": entry.get("id"),
            },
        )
