from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from sqlalchemy import select

from crawler.pipelines.evaluate_rules import EvaluateRulesPipeline
from crawler.pipelines.store_page import StorePagePipeline
from kuzet.models import Detection, DetectionStatus
from rules.loader import RulePackError
from tests.crawl_helpers import make_crawler, page_item, seed_run

CASINO = "<title>Бонусы</title><p>Онлайн-казино: бонус на первый депозит, фриспины и джекпот!</p>"
NEWS = "<title>Новости</title><p>Полиция закрыла онлайн-казино.</p>"


def run_both(settings, item):
    crawler = make_crawler(settings)
    item = StorePagePipeline.from_crawler(crawler).process_item(item)
    return EvaluateRulesPipeline.from_crawler(crawler).process_item(item), crawler


def test_violating_page_gets_a_detection_with_explanation(settings, db) -> None:
    with db.session() as s:
        sid, rid = seed_run(s)
    item, crawler = run_both(settings, page_item(sid, rid, "http://127.0.0.1:1/c", CASINO))
    assert item.detection_ids
    with db.session() as s:
        det = s.scalars(
            select(Detection).where(Detection.rule_id == "gambling.casino-promo.ru")
        ).one()
        assert det.status == DetectionStatus.PENDING
        assert det.violation_type == "online_gambling" and det.rule_version == 1
        assert det.legal_norm["kk"] and det.legal_norm["ru"] and det.violation_type_title["ru"]
        assert len(det.rule_fingerprint) == 64 and det.score >= 3
        terms = {sp["term"] for sp in det.spans}
        assert {"онлайн-казино", "фриспин*", "джекпот"} <= terms
        text = item.text
        for sp in det.spans:
            if sp["scope"] == "text":
                assert text[sp["start"] : sp["end"]] == sp["text"]
    assert crawler.stats.get_value("kuzet/detections/online_gambling") >= 1


def test_clean_news_and_unchanged_pages_are_not_flagged(settings, db) -> None:
    with db.session() as s:
        sid, rid = seed_run(s)
    item, _ = run_both(settings, page_item(sid, rid, "http://127.0.0.1:1/n", NEWS))
    assert item.detection_ids == []
    first, _ = run_both(settings, page_item(sid, rid, "http://127.0.0.1:1/c", CASINO))
    second, _ = run_both(settings, page_item(sid, rid, "http://127.0.0.1:1/c", CASINO))
    assert first.detection_ids and second.detection_ids == []
    with db.session() as s:
        assert len(s.scalars(select(Detection)).all()) == len(first.detection_ids)


def test_invalid_pack_stops_the_pipeline_from_starting(settings, db, tmp_path) -> None:
    bad = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, bad)
    (bad / "gambling.yaml").write_text("pack: gambling\nrules: [", encoding="utf-8")
    with pytest.raises(RulePackError, match=r"gambling\.yaml"):
        EvaluateRulesPipeline.from_crawler(make_crawler(replace(settings, rules_dir=bad)))
