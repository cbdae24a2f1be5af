"""Helpers for building pipelines and items in tests."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler
from sqlalchemy.orm import Session

from crawler.extract import extract
from crawler.items import PageItem
from crawler.spiders.site import SiteSpider
from kuzet.config import Settings
from kuzet.db import utcnow
from kuzet.models import CrawlRun, FetchStatus, Source


def make_crawler(settings: Settings) -> Crawler:
    crawler = get_crawler(
        SiteSpider,
        {"KUZET_DATABASE_URL": settings.database_url, "KUZET_RULES_DIR": str(settings.rules_dir)},
    )
    crawler.spider = crawler._create_spider(
        source_id=1, crawl_run_id=1, start_url="http://127.0.0.1/"
    )
    crawler.stats.open_spider()
    return crawler


def seed_run(session: Session, url: str = "http://127.0.0.1:1/") -> tuple[int, int]:
    source = Source(name="s", start_url=url)
    session.add(source)
    session.flush()
    run = CrawlRun(source_id=source.id)
    session.add(run)
    session.flush()
    return source.id, run.id


def page_item(source_id: int, run_id: int, url: str, html: str, **extra: object) -> PageItem:
    title, text = extract(html)
    fields: dict[str, object] = {
        "source_id": source_id,
        "crawl_run_id": run_id,
        "url": url,
        "fetched_at": utcnow(),
        "fetch_status": FetchStatus.OK.value,
        "final_url": url,
        "http_status": 200,
        "content_type": "text/html",
        "body": html.encode(),
        "title": title,
        "text": text,
        "html": html,
        "server_ip": "127.0.0.1",
        "protocol": "HTTP/1.1",
    }
    fields.update(extra)
    return PageItem(**fields)  # type: ignore[arg-type]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
