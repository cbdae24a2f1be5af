"""Helpers for building spiders, pipelines and items in tests."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler
from sqlalchemy.orm import Session

from crawler.items import PageItem
from crawler.spiders.site import SiteSpider
from kuzet.config import Settings
from kuzet.db import utcnow
from kuzet.models import CrawlRun, FetchStatus, Source


def crawler_settings(settings: Settings) -> dict[str, Any]:
    return {"KUZET_DATABASE_URL": settings.database_url, "KUZET_RULES_DIR": str(settings.rules_dir)}


def make_crawler(settings: Settings, **extra: Any) -> Crawler:
    crawler = get_crawler(SiteSpider, {**crawler_settings(settings), **extra})
    crawler.stats.open_spider()
    return crawler


def make_spider(settings: Settings, source_id: int, run_id: int, **kw: Any) -> SiteSpider:
    crawler = make_crawler(settings)
    spider = crawler._create_spider(source_id=source_id, crawl_run_id=run_id, **kw)
    crawler.spider = spider
    return spider  # type: ignore[no-any-return]


def seed_run(session: Session, url: str = "http://127.0.0.1:1/", **source: Any) -> tuple[int, int]:
    n = session.query(Source).count()
    src = Source(name=f"source-{n + 1}", start_url=url, allow_private=True, **source)
    session.add(src)
    session.flush()
    run = CrawlRun(source_id=src.id)
    session.add(run)
    session.flush()
    return src.id, run.id


def page_item(source_id: int, run_id: int, url: str, html: str, **extra: object) -> PageItem:
    fields: dict[str, object] = {
        "source_id": source_id,
        "crawl_run_id": run_id,
        "url": url,
        "fetched_at": utcnow(),
        "fetch_status": FetchStatus.OK.value,
        "final_url": url,
        "http_status": 200,
        "content_type": "text/html",
        "charset": "utf-8",
        "body": html.encode(),
        "server_ip": "127.0.0.1",
        "protocol": "HTTP/1.1",
    }
    fields.update(extra)
    return PageItem(**fields)  # type: ignore[arg-type]
