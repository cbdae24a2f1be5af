"""Link discovery for site crawls.

Scrapy's ``LinkExtractor`` rebuilds and re-filters every link of every page; on a news
site most links (menus, "latest news" blocks) repeat on every page and were settled
long ago. :class:`LinkFinder` keeps the defaults that matter here — ``<a>``/``<area>``
``href``, ``<base href>``, http(s) only, Scrapy's list of non-page extensions, URLs made
browser-safe, fragments dropped — and remembers the URLs it has already handed out, so
a repeated link costs one join and one set lookup.
"""

from __future__ import annotations

import posixpath
from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy.http import TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.response import get_base_url
from w3lib.url import safe_url_string

_SKIP_EXTENSIONS = frozenset(f".{ext}" for ext in IGNORED_EXTENSIONS)
_SCHEMES = ("http", "https")


class LinkFinder:
    """Absolute, fragment-free page URLs linked from a response, each returned once.

    ``memory`` bounds how many resolved links are remembered; past it the memory starts
    again (a forgotten link is simply resolved once more and dropped by the caller's
    own scheduled-set check).
    """

    def __init__(self, memory: int = 500_000) -> None:
        self.memory = memory
        self._raw: set[str] = set()

    def new_links(self, response: TextResponse) -> list[str]:
        base = get_base_url(response)
        found: list[str] = []
        raw_seen = self._raw
        if len(raw_seen) > self.memory:
            raw_seen.clear()
        for el in response.selector.root.iter("a", "area"):
            href = el.get("href")
            if not href:
                continue
            joined = urljoin(base, href.strip())
            if joined in raw_seen:
                continue
            raw_seen.add(joined)
            url = urldefrag(safe_url_string(joined, response.encoding)).url
            parts = urlsplit(url)
            if parts.scheme not in _SCHEMES:
                continue
            if posixpath.splitext(parts.path)[1].lower() in _SKIP_EXTENSIONS:
                continue
            found.append(url)
        return found
