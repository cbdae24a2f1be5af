"""Telegram public channels through their web preview (``https://t.me/s/<channel>``).

Every post becomes its own page, ``https://t.me/<channel>/<id>``, whose body is the post
normalised (text, date, media links — not the view count, which changes all the time), so
a new version means the post itself changed: an edit. Older posts are reached with
``?before=<id>``, up to the source's page limit. A post stored by an earlier crawl whose id
lies inside the range walked now but which is no longer there gets a ``deleted`` row.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import Response

from crawler.spiders.base import KuzetSpider
from kuzet.models import FetchStatus

_BG_URL = re.compile(r"background-image:\s*url\(['\"]?([^'\")]+)")
_PAGE_LIMIT_META = "kuzet_telegram_page"


class TelegramSpider(KuzetSpider):
    name = "telegram"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: set[int] = set()
        self._low: int | None = None
        self._high: int | None = None
        self._newest_walked = False  # the first preview page shows the newest posts

    def _load(self) -> None:
        super()._load()
        self.channel = urlsplit(self.source.start_url).path.rstrip("/").split("/")[-1]

    def post_url(self, post_id: int) -> str:
        return f"https://t.me/{self.channel}/{post_id}"

    def parse(self, response: Response) -> Any:
        page_no = response.meta.get(_PAGE_LIMIT_META, 1)
        if page_no == 1:
            self._newest_walked = True
        posts = [self._post(node) for node in response.css("div.tgme_widget_message[data-post]")]
        posts = [p for p in posts if p is not None]
        links: list[tuple[str, int]] = []
        ids = [p["id"] for p in posts]
        if ids:
            self._low = min([*ids, self._low] if self._low is not None else ids)
            self._high = max([*ids, self._high] if self._high is not None else ids)
        older = min(ids) if ids else None
        more = older is not None and older > 1 and page_no < self.source.max_pages
        if more:
            # relative to the source URL (normally https://t.me/s/<channel>)
            links.append((urljoin(self.source.start_url, f"?before={older}"), page_no))
        # The preview page itself is not stored (it changes with every view); its posts are.
        yield self.response_item(response, store_page=False, links=links)
        for post in posts:
            self._seen.add(post["id"])
            yield self.item(
                self.post_url(post["id"]),
                fetch_status=FetchStatus.OK.value,
                final_url=self.post_url(post["id"]),
                http_status=response.status,
                content_type="text/html",
                charset="utf-8",
                body=post["body"],
                server_ip=str(response.ip_address) if response.ip_address else None,
                protocol=response.protocol,
                frontier_url=response.meta.get("redirect_urls", [response.url])[0],
                meta={
                    "kind": "telegram_post",
                    "channel": self.channel,
                    "post_id": post["id"],
                    "views": post["views"],
                    "edited": post["edited"],
                    "media": post["media"],
                    "image_urls": post["photos"],  # hashed when a rule looks at images
                    "published_at": post["date"],
                },
            )
        if more:
            url, _ = links[0]
            yield self.request(url, page_no, meta={_PAGE_LIMIT_META: page_no + 1})
        else:
            yield from self._deleted()

    def _post(self, node: Selector) -> dict[str, Any] | None:
        ref = node.attrib.get("data-post", "")
        try:
            post_id = int(ref.rsplit("/", 1)[1])
        except (IndexError, ValueError):
            return None
        text_html = node.css(".tgme_widget_message_text").get() or ""
        text = " ".join(node.css(".tgme_widget_message_text ::text").getall()).strip()
        date = (
            node.css(".tgme_widget_message_date time::attr(datetime)").get()
            or node.css("time::attr(datetime)").get()
        )
        meta_text = " ".join(node.css(".tgme_widget_message_meta ::text").getall()).lower()
        photos = [
            m.group(1)
            for s in node.css(".tgme_widget_message_photo_wrap::attr(style)").getall()
            if (m := _BG_URL.search(s))
        ]
        media = photos + node.css("video::attr(src)").getall()
        media += node.css(".tgme_widget_message_text a::attr(href)").getall()
        views = (node.css(".tgme_widget_message_views::text").get() or "").strip()
        body = (
            '<!doctype html><html><head><meta charset="utf-8">'
            f"<title>@{self.channel} · {post_id}</title>"
            f'</head><body><article data-post="{html.escape(ref)}">'
            f'<time datetime="{html.escape(date or "")}">{html.escape(date or "")}</time>'
            f"{text_html}"
            + "".join(f'<a href="{html.escape(u)}">{html.escape(u)}</a>' for u in media)
            + "</article></body></html>"
        )
        return {
            "id": post_id,
            "text": text,
            "date": date,
            "views": views,
            "edited": "edited" in meta_text,
            "media": media,
            "photos": photos,
            "body": body.encode(),
        }

    def _deleted(self) -> Any:
        """Posts stored before, inside the id range walked now, that are gone."""
        if self._low is None or self._high is None:
            return
        prefix = f"https://t.me/{self.channel}/"
        for url, status in self._latest.items():
            if not url.startswith(prefix) or status != FetchStatus.OK:
                continue
            try:
                post_id = int(url[len(prefix) :])
            except ValueError:
                continue
            in_range = post_id >= self._low and (self._newest_walked or post_id <= self._high)
            if in_range and post_id not in self._seen:
                self.crawler.stats.inc_value("kuzet/telegram/deleted")
                yield self.item(
                    url,
                    fetch_status=FetchStatus.DELETED.value,
                    error="post no longer in the channel preview",
                    frontier_url=self.source.start_url,
                    meta={"kind": "telegram_post", "channel": self.channel, "post_id": post_id},
                )
