"""Store fetched pages in batches: a Page row per new version, its compressed body, and
the frontier updates (links found, URL done) in the same transaction.

Unchanged content (same URL and SHA-256) adds no row and is never analysed again. Pages
are written with ``analysis_status = pending``; the analysis worker reads them from there.
A batch is one transaction, so a crawl killed at any moment leaves the frontier and the
pages consistent: what was stored is done, what was not is still pending.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import insert, select, tuple_, update

from crawler.database import database_for
from crawler.items import PageItem, pages_stored
from kuzet.db import insert_ignore
from kuzet.models import (
    AnalysisStatus,
    FetchStatus,
    FrontierEntry,
    FrontierStatus,
    Page,
    PageBody,
)

logger = logging.getLogger(__name__)


class StorePagePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db = database_for(crawler)
        self.batch_size = crawler.settings.getint("KUZET_STORE_BATCH_SIZE", 100)
        self.batch_seconds = crawler.settings.getfloat("KUZET_STORE_BATCH_SECONDS", 1.0)
        self.compress_level = crawler.settings.getint("KUZET_STORE_COMPRESS_LEVEL", 1)
        self._buffer: list[PageItem] = []
        self._first_at = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePagePipeline:
        pipe = cls(crawler)
        crawler.signals.connect(pipe.flush, signal=signals.spider_idle)
        crawler.signals.connect(pipe.flush, signal=signals.spider_closed)
        return pipe

    def process_item(self, item: PageItem) -> PageItem:
        if not self._buffer:
            self._first_at = time.monotonic()
        self._buffer.append(item)
        if (
            len(self._buffer) >= self.batch_size
            or time.monotonic() - self._first_at >= self.batch_seconds
        ):
            self.flush()
        return item

    def flush(self, *_: Any, **__: Any) -> None:
        """Write the buffered items in one transaction."""
        if not self._buffer:
            return
        started = time.perf_counter()
        items, self._buffer = self._buffer, []
        stats = self.crawler.stats
        for item in items:
            if item.body is not None:
                item.meta.setdefault("_sha256", hashlib.sha256(item.body).hexdigest())
        with self.db.session() as session:
            keys = [(i.url, i.meta["_sha256"]) for i in items if "_sha256" in i.meta]
            existing: dict[tuple[str, str], int] = {}
            if keys:
                for pid, url, sha in session.execute(
                    select(Page.id, Page.url, Page.content_sha256).where(
                        tuple_(Page.url, Page.content_sha256).in_(keys)
                    )
                ):
                    existing[(url, sha)] = pid
            new_rows: list[tuple[PageItem, dict[str, Any], bytes | None]] = []
            in_batch: dict[tuple[str, str], int] = {}  # (url, sha) -> index in new_rows
            repeats: list[tuple[PageItem, int]] = []
            for item in items:
                if not item.store_page:
                    continue
                sha = item.meta.pop("_sha256", None)
                if sha is not None and (item.url, sha) in existing:
                    item.page_id, item.is_new = existing[(item.url, sha)], False
                    stats.inc_value("kuzet/pages/unchanged")
                    continue
                if sha is not None and (item.url, sha) in in_batch:
                    # the same URL + content twice in one batch: store once
                    repeats.append((item, in_batch[(item.url, sha)]))
                    stats.inc_value("kuzet/pages/unchanged")
                    continue
                ok = (
                    item.fetch_status == FetchStatus.OK.value
                    and item.body is not None
                    and item.meta.pop("analyze", True)
                )
                published = item.meta.get("published_at")
                row = {
                    "source_id": item.source_id,
                    "crawl_run_id": item.crawl_run_id,
                    "url": item.url,
                    "final_url": item.final_url,
                    "fetch_status": FetchStatus(item.fetch_status),
                    "http_status": item.http_status,
                    "error": item.error,
                    "fetched_at": item.fetched_at,
                    "content_type": item.content_type,
                    "charset": item.charset,
                    "content_sha256": sha,
                    "content_length": len(item.body) if item.body is not None else None,
                    "server_ip": item.server_ip,
                    "protocol": item.protocol,
                    "etag": item.etag,
                    "last_modified": item.last_modified,
                    "meta": item.meta,
                    "published_at": datetime.fromisoformat(published) if published else None,
                    "analysis_status": AnalysisStatus.PENDING if ok else AnalysisStatus.SKIPPED,
                }
                body = (
                    zlib.compress(item.body, self.compress_level) if item.body is not None else None
                )
                if sha is not None:
                    in_batch[(item.url, sha)] = len(new_rows)
                new_rows.append((item, row, body))
            if new_rows:
                # Core bulk insert: one statement for the batch, ids back in order.
                ids = session.scalars(
                    insert(Page).returning(Page.id, sort_by_parameter_order=True),
                    [row for _, row, _ in new_rows],
                ).all()
                bodies = [
                    {"page_id": pid, "compression": "zlib", "data": body}
                    for pid, (_, _, body) in zip(ids, new_rows, strict=True)
                    if body is not None
                ]
                if bodies:
                    session.execute(insert(PageBody), bodies)
                for pid, (item, row, _) in zip(ids, new_rows, strict=True):
                    item.page_id = pid
                    item.is_new = row["analysis_status"] == AnalysisStatus.PENDING
                    stats.inc_value(
                        "kuzet/pages/stored"
                        if item.is_new
                        else f"kuzet/pages/{row['fetch_status'].value}"
                    )
                for item, index in repeats:
                    item.page_id, item.is_new = new_rows[index][0].page_id, False
            self._update_frontier(session, items)
        self.crawler.signals.send_catch_log(signal=pages_stored, items=items)
        spent = time.perf_counter() - started
        self.crawler.stats.inc_value("kuzet/store/ms", int(spent * 1000))
        logger.debug("Stored a batch of %(n)d items", {"n": len(items)})

    @staticmethod
    def _update_frontier(session: Any, items: list[PageItem]) -> None:
        by_status: dict[tuple[int, str], list[str]] = {}
        for i in items:
            status = (
                FrontierStatus.DONE
                if i.fetch_status != FetchStatus.FAILED.value
                else FrontierStatus.FAILED
            )
            by_status.setdefault((i.crawl_run_id, status.value), []).append(i.frontier_url or i.url)
        # A URL may be done before the page linking to it is stored (crawl workers share
        # one queue, and a page whose worker died is fetched again later): its row is
        # made here, done, so the link below cannot make it pending again. (Its depth is
        # not known here; only pending rows' depth is ever read, by resume.)
        insert_ignore(
            session,
            FrontierEntry.__table__,
            [
                {"crawl_run_id": run_id, "url": url, "depth": 0, "status": status}
                for (run_id, status), urls in by_status.items()
                for url in urls
            ],
        )
        for (run_id, status), urls in by_status.items():
            for chunk in range(0, len(urls), 500):
                session.execute(
                    update(FrontierEntry)
                    .where(
                        FrontierEntry.crawl_run_id == run_id,
                        FrontierEntry.url.in_(urls[chunk : chunk + 500]),
                    )
                    .values(status=status)
                )
        rows = [
            {
                "crawl_run_id": i.crawl_run_id,
                "url": url,
                "depth": depth,
                "status": FrontierStatus.PENDING.value,
            }
            for i in items
            for url, depth in i.links
        ]
        insert_ignore(session, FrontierEntry.__table__, rows)
