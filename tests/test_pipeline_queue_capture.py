from __future__ import annotations

from sqlalchemy import select

from crawler.pipelines.evaluate_rules import EvaluateRulesPipeline
from crawler.pipelines.queue_capture import QueueCapturePipeline
from crawler.pipelines.store_page import StorePagePipeline
from kuzet.models import Capture, CaptureStatus, Detection
from tests.crawl_helpers import make_crawler, page_item, seed_run

CASINO_BOTH = (
    "<title>Vulkan</title><p>Онлайн-казино: бонус на первый депозит, фриспины и джекпот! "
    "Бірінші депозитке бонус, ұтысты шығару, промокод.</p>"
)


def test_one_capture_per_page_linked_to_all_its_detections(settings, db) -> None:
    crawler = make_crawler(settings)
    with db.session() as s:
        sid, rid = seed_run(s)
    item = page_item(sid, rid, "http://127.0.0.1:1/v", CASINO_BOTH)
    for pipe in (StorePagePipeline, EvaluateRulesPipeline, QueueCapturePipeline):
        item = pipe.from_crawler(crawler).process_item(item)
    assert len(item.detection_ids) == 2
    with db.session() as s:
        cap = s.scalars(select(Capture)).one()
        assert cap.status == CaptureStatus.QUEUED and cap.url == "http://127.0.0.1:1/v"
        assert cap.page_id == item.page_id
        assert {d.capture_id for d in s.scalars(select(Detection))} == {cap.id}
    assert crawler.stats.get_value("kuzet/captures/queued") == 1


def test_pages_without_detections_queue_nothing(settings, db) -> None:
    crawler = make_crawler(settings)
    with db.session() as s:
        sid, rid = seed_run(s)
    item = page_item(sid, rid, "http://127.0.0.1:1/n", "<p>Погода</p>")
    for pipe in (StorePagePipeline, EvaluateRulesPipeline, QueueCapturePipeline):
        item = pipe.from_crawler(crawler).process_item(item)
    with db.session() as s:
        assert s.scalars(select(Capture)).all() == []
