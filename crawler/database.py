"""The project database as seen from inside a crawl: one engine per process."""

from __future__ import annotations

from functools import lru_cache

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from kuzet.db import Database


@lru_cache(maxsize=4)
def _database(url: str) -> Database:
    # The runner migrated the schema before starting the crawl.
    return Database(url, migrate=False)


def database_for(crawler: Crawler) -> Database:
    url = crawler.settings.get("KUZET_DATABASE_URL")
    if not url:
        raise NotConfigured("KUZET_DATABASE_URL is not set")
    return _database(url)
