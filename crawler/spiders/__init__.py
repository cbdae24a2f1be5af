"""One spider per source kind."""

from __future__ import annotations

from crawler.spiders.base import KuzetSpider


def spider_for(kind: str) -> type[KuzetSpider]:
    from crawler.spiders.feed import FeedSpider
    from crawler.spiders.site import SiteSpider
    from crawler.spiders.sitemap import SitemapSpider
    from crawler.spiders.telegram import TelegramSpider

    spiders: dict[str, type[KuzetSpider]] = {
        "site": SiteSpider,
        "feed": FeedSpider,
        "sitemap": SitemapSpider,
        "telegram": TelegramSpider,
    }
    try:
        return spiders[str(kind)]
    except KeyError:
        raise ValueError(f"no spider for source kind {kind!r}") from None
