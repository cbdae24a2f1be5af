"""Queue one browser capture per page that produced detections."""

from __future__ import annotations

from scrapy.crawler import Crawler
from sqlalchemy import select

from crawler.database import database_for
from crawler.items import PageItem
from kuzet.models import Capture, CaptureStatus, Detection


class QueueCapturePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db = database_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> QueueCapturePipeline:
        return cls(crawler)

    def process_item(self, item: PageItem) -> PageItem:
        if not item.detection_ids:
            return item
        with self.db.session() as session:
            capture = Capture(
                page_id=item.page_id,
                url=item.url,
                status=CaptureStatus.QUEUED,
            )
            session.add(capture)
            session.flush()
            for detection in session.scalars(
                select(Detection).where(Detection.id.in_(item.detection_ids))
            ):
                detection.capture_id = capture.id
        self.crawler.stats.inc_value("kuzet/captures/queued")
        return item
