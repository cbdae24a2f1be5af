"""Store each fetch as a Page row, deduplicated by URL + content SHA-256."""

from __future__ import annotations

import hashlib
import logging

from scrapy.crawler import Crawler
from sqlalchemy import select

from crawler.database import database_for
from crawler.items import PageItem
from kuzet.models import FetchStatus, Page

logger = logging.getLogger(__name__)


class StorePagePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db = database_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePagePipeline:
        return cls(crawler)

    def process_item(self, item: PageItem) -> PageItem:
        stats = self.crawler.stats
        sha = hashlib.sha256(item.body).hexdigest() if item.body is not None else None
        with self.db.session() as session:
            if sha is not None:
                existing = session.scalars(
                    select(Page).where(Page.url == item.url, Page.content_sha256 == sha)
                ).first()
                if existing is not None:
                    item.page_id, item.is_new = existing.id, False
                    stats.inc_value("kuzet/pages/unchanged")
                    return item
            page = Page(
                source_id=item.source_id,
                crawl_run_id=item.crawl_run_id,
                url=item.url,
                final_url=item.final_url,
                fetch_status=FetchStatus(item.fetch_status),
                http_status=item.http_status,
                error=item.error,
                fetched_at=item.fetched_at,
                content_type=item.content_type,
                content_sha256=sha,
                content_length=len(item.body) if item.body is not None else None,
                server_ip=item.server_ip,
                protocol=item.protocol,
                title=item.title or None,
                text=item.text or None,
            )
            session.add(page)
            session.flush()
            item.page_id, item.is_new = page.id, item.fetch_status == FetchStatus.OK.value
        if item.fetch_status == FetchStatus.OK.value:
            stats.inc_value("kuzet/pages/stored")
        else:
            stats.inc_value("kuzet/pages/failed_stored")
            logger.info(
                "Failed fetch recorded: %(url)s (%(error)s)", {"url": item.url, "error": item.error}
            )
        return item
