"""Run the active rule packs on each new page version and record detections."""

from __future__ import annotations

import logging
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import select

from crawler.database import database_for
from crawler.items import PageItem
from kuzet.models import Detection
from rules.engine import Document, Engine
from rules.loader import load_rules

logger = logging.getLogger(__name__)


class EvaluateRulesPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        rules_dir = crawler.settings.get("KUZET_RULES_DIR")
        if not rules_dir:
            raise NotConfigured("KUZET_RULES_DIR is not set")
        self.db = database_for(crawler)
        # Loaded once per crawl; an invalid pack raises here and no page is evaluated.
        self.ruleset = load_rules(Path(rules_dir))
        self.engine = Engine(self.ruleset)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EvaluateRulesPipeline:
        return cls(crawler)

    def process_item(self, item: PageItem) -> PageItem:
        if not item.is_new or item.page_id is None:
            return item
        hits = self.engine.evaluate(
            Document(url=item.url, title=item.title, text=item.text, html=item.html)
        )
        if not hits:
            return item
        with self.db.session() as session:
            for hit in hits:
                rule = hit.rule
                exists = session.scalar(
                    select(Detection.id).where(
                        Detection.page_id == item.page_id,
                        Detection.rule_id == rule.id,
                        Detection.rule_version == rule.version,
                    )
                )
                if exists:
                    continue
                vt = self.ruleset.violation_types[rule.violation_type]
                detection = Detection(
                    page_id=item.page_id,
                    rule_id=rule.id,
                    rule_version=rule.version,
                    rule_fingerprint=rule.fingerprint,
                    rule_title=rule.title.model_dump(exclude_none=True),
                    violation_type=rule.violation_type,
                    violation_type_title=vt.model_dump(exclude_none=True),
                    legal_norm=rule.legal_norm.model_dump(exclude_none=True),
                    severity=rule.severity,
                    score=hit.score,
                    spans=[s.as_dict() for s in hit.spans],
                )
                session.add(detection)
                session.flush()
                item.detection_ids.append(detection.id)
                self.crawler.stats.inc_value(f"kuzet/detections/{rule.violation_type}")
                logger.info(
                    "Rule %(rule)s v%(version)s matched %(url)s",
                    {"rule": rule.id, "version": rule.version, "url": item.url},
                )
        return item
