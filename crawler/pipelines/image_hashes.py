"""Perceptual hashes of a page's images, for rules that look for known banners and logos.

For every new HTML page the pipeline fetches up to ``KUZET_IMAGE_HASHES_MAX_PER_PAGE``
of its images (``<img>``, ``og:image``, and any ``image_urls`` a spider lists, such as a
Telegram post's photos) through the crawl's own downloader — same proxy, robots.txt,
SSRF guard and retries — and stores their pHash (64 bits, 16 hex digits) in the page's
``meta["images"]``. Analysis hands them to ``image_phash`` conditions.

An image that cannot be fetched or decoded is kept as ``{"src", "error"}``, never dropped
silently, and counted in the ``kuzet/images/*`` stats. The same image on many pages (a
logo, a banner) is fetched once: hashes are cached per crawl.

``KUZET_IMAGE_HASHES``: ``auto`` (default: on when an enabled rule in the rules directory
has an ``image_phash`` condition), ``on`` or ``off``.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import imagehash
from parsel import Selector
from PIL import Image
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http.request import NO_CALLBACK

from crawler.items import PageItem
from crawler.runs import source_spider

logger = logging.getLogger(__name__)

HTML_TYPES = {"text/html", "application/xhtml+xml", None}
_CACHE_SIZE = 10_000
# Decoding is bounded: a crafted image must not take the crawl's memory.
_MAX_PIXELS = 40_000_000


def rules_use_images(rules_dir: str) -> bool:
    """Whether any enabled rule under ``rules_dir`` has an ``image_phash`` condition."""
    from rules.loader import load_rules
    from rules.schema import ImageCondition, walk

    if not rules_dir or not Path(rules_dir).is_dir():
        return False
    ruleset = load_rules(Path(rules_dir))
    return any(
        isinstance(cond, ImageCondition) for rule in ruleset.enabled for cond in walk(rule.match)
    )


def image_sources(item: PageItem, limit: int) -> list[str]:
    """The absolute http(s) URLs of the page's images, in page order, without repeats."""
    base = item.final_url or item.url
    found: list[str] = list(item.meta.get("image_urls") or [])
    if item.body and item.content_type in HTML_TYPES:
        sel = Selector(body=item.body, type="html", encoding=item.charset or "utf-8")
        found += sel.css(
            'meta[property="og:image"]::attr(content), meta[name="twitter:image"]::attr(content)'
        ).getall()
        found += sel.css("img::attr(src), img::attr(data-src)").getall()
    out: list[str] = []
    for src in found:
        url = urljoin(base, src.strip())
        if urlsplit(url).scheme in ("http", "https") and url not in out:
            out.append(url)
            if len(out) >= limit:
                break
    return out


def phash_of(body: bytes) -> str:
    """pHash of an image, as 16 hex digits (raises on anything that is not an image)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(body)) as img:
            if img.width * img.height > _MAX_PIXELS:
                raise ValueError(f"image too large ({img.width}×{img.height})")
            img.draft("L", (256, 256))  # JPEG: decode at reduced size, it is all pHash needs
            return str(imagehash.phash(img.convert("L")))


class ImageHashPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        mode = settings.get("KUZET_IMAGE_HASHES", "auto")
        if mode == "off" or (
            mode == "auto" and not rules_use_images(settings.get("KUZET_RULES_DIR", ""))
        ):
            raise NotConfigured("no rule looks at images")
        self.crawler = crawler
        self.max_images = settings.getint("KUZET_IMAGE_HASHES_MAX_PER_PAGE", 8)
        self.max_bytes = settings.getint("KUZET_IMAGE_HASHES_MAX_BYTES", 5_000_000)
        self._cache: OrderedDict[str, dict[str, str]] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ImageHashPipeline:
        return cls(crawler)

    async def process_item(self, item: PageItem) -> PageItem:
        if not item.store_page or not item.body or item.fetch_status != "ok":
            return item
        sources = image_sources(item, self.max_images)
        if not sources:
            return item
        item.meta["images"] = [await self._hash(src, item.crawl_run_id) for src in sources]
        return item

    async def _hash(self, src: str, run_id: int) -> dict[str, str]:
        stats = self.crawler.stats
        cached = self._cache.get(src)
        if cached is not None:
            self._cache.move_to_end(src)
            stats.inc_value("kuzet/images/cached")
            return cached
        try:
            response = await self.crawler.engine.download_async(self._request(src, run_id))
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            result = {"src": src, "phash": phash_of(response.body)}
            stats.inc_value("kuzet/images/hashed")
        except Exception as exc:  # recorded on the page, and counted
            result = {"src": src, "error": f"{type(exc).__name__}: {exc}"[:300]}
            stats.inc_value("kuzet/images/failed")
            logger.debug("Image %(src)s not hashed: %(error)s", result)
        self._cache[src] = result
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _request(self, src: str, run_id: int) -> Request:
        meta: dict[str, Any] = {
            "kuzet_run": run_id,
            # Images are fetched over HTTP even for browser-rendered sources (a browser
            # would hand back a page around the image), through the source's proxy.
            "playwright": False,
            "download_maxsize": self.max_bytes,
            "handle_httpstatus_all": True,
        }
        spider = source_spider(self.crawler, run_id)
        proxy = getattr(spider, "proxy", None)
        if proxy:
            meta["proxy"] = proxy
        source = getattr(spider, "source", None)
        if source is not None and not source.obey_robots:
            meta["dont_obey_robotstxt"] = True
        return Request(src, callback=NO_CALLBACK, meta=meta, priority=10)
