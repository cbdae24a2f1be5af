"""The analysis stage: read pages the crawl stored, extract their text, run the rules,
record detections and queue a capture for every flagged page.

Runs in its own process beside the crawl (``python -m rules.analyze --follow RUN_ID ...``)
so the crawl process only fetches and stores. A page that cannot be analysed is marked
``failed`` with its error, never silently skipped.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from crawler.extract import understand
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import (
    AnalysisStatus,
    Capture,
    CaptureStatus,
    CrawlRun,
    CrawlStatus,
    Detection,
    Page,
)
from rules.engine import Document, Engine, Hit
from rules.loader import RulePackError, RuleSet, load_rules
from rules.schema import RegexCondition, Rule

logger = logging.getLogger(__name__)


@dataclass
class AnalysisSummary:
    pages: int = 0
    failed: int = 0
    detections: int = 0
    captures: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    regex_timeouts: int = 0  # pages on which a rule regex ran out of time


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """What identifies a version of the rules directory: every file's name, mtime, size."""
    out = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


class Analyzer:
    """Analyses pending pages with a compiled rule set.

    With ``rules_dir`` it watches the packs and reloads them between batches when they
    change; a reload that fails validation is logged and the previous rules stay active,
    so the engine never runs with an empty or half-loaded rule set.
    """

    def __init__(
        self,
        db: Database,
        ruleset: RuleSet,
        batch_size: int = 50,
        rules_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.ruleset = ruleset
        self.engine = Engine(ruleset)
        self.batch_size = batch_size
        self.rules_dir = rules_dir
        self._stamp = _stamp(rules_dir) if rules_dir else None
        self.reload_error: str | None = None

    def reload_if_changed(self) -> bool:
        """Reload the packs if their files changed; True if new rules are now active."""
        if self.rules_dir is None:
            return False
        stamp = _stamp(self.rules_dir)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            ruleset = load_rules(self.rules_dir)
            engine = Engine(ruleset)
        except RulePackError as exc:
            self.reload_error = str(exc)
            logger.error("Rule packs not reloaded, previous rules stay active: %s", exc)
            return False
        self.ruleset, self.engine, self.reload_error = ruleset, engine, None
        logger.info("Rule packs reloaded: %d rules", len(ruleset.rules))
        return True

    def run_once(self, run_ids: Sequence[int] | None = None) -> AnalysisSummary:
        """Analyse one batch of pending pages; an empty summary means nothing was pending."""
        self.reload_if_changed()
        summary = AnalysisSummary()
        with self.db.session() as session:
            query = select(Page).where(Page.analysis_status == AnalysisStatus.PENDING)
            if run_ids is not None:
                query = query.where(Page.crawl_run_id.in_(list(run_ids)))
            query = query.options(selectinload(Page.body)).order_by(Page.id).limit(self.batch_size)
            if session.get_bind().dialect.name == "postgresql":
                # Analysers on many hosts: each takes pages the others have not locked.
                query = query.with_for_update(of=Page, skip_locked=True)
            pages = [p for p in session.scalars(query).all() if self._take(session, p)]
            read = [(page, self._read(page, summary)) for page in pages]
            ready = [(page, doc) for page, doc in read if doc is not None]
            # The whole batch through the rules at once: one scan per scope.
            results = self.engine.evaluate_many([doc for _, doc in ready])
            for (page, doc), hits in zip(ready, results, strict=True):
                self._note_timeouts(page, doc, summary)
                self._record(session, page, hits, summary)
        return summary

    @staticmethod
    def _take(session: Session, page: Page) -> bool:
        """Whether this analyser gets the page: a conditional update, so that two
        analysers (SQLite has no row locks) never both record detections for it."""
        won = session.execute(
            update(Page)
            .where(Page.id == page.id, Page.analysis_status == AnalysisStatus.PENDING)
            .values(analysis_status=AnalysisStatus.DONE)  # final: set again below, same transaction
        ).rowcount
        if won != 1:
            session.expunge(page)
        return won == 1

    def _read(self, page: Page, summary: AnalysisSummary) -> Document | None:
        """Extract a stored page's text (kept on the page); None if it cannot be read."""
        summary.pages += 1
        try:
            if page.body is None:
                raise ValueError("no stored body")
            read = understand(page.body.raw(), page.charset)
        except Exception as exc:
            logger.exception(
                "Analysis failed for page %(id)s (%(url)s)", {"id": page.id, "url": page.url}
            )
            page.analysis_status = AnalysisStatus.FAILED
            page.analysis_error = f"{type(exc).__name__}: {exc}"
            summary.failed += 1
            return None
        page.title = read.title or None
        page.text = read.text or None
        page.language = read.language
        page.encoding = read.encoding
        page.published_at = page.published_at or read.published_at
        if read.extraction:  # past a parser limit, cut at a bound, extractor failed
            page.meta = {**(page.meta or {}), "extraction": read.extraction}
            logger.warning(
                "Page %(id)s not read the usual way: %(how)s",
                {"id": page.id, "how": read.extraction},
            )
        return Document(
            url=page.url,
            title=read.title,
            text=read.text,
            html=read.html,
            images=Document.images_of(page.meta),
        )

    def _note_timeouts(self, page: Page, doc: Document, summary: AnalysisSummary) -> None:
        """Record on the page the rule regexes that ran out of time on it, with the rules
        that use them: those rules were evaluated without the rest of their matches."""
        if not doc.regex_timeouts:
            return
        summary.regex_timeouts += 1
        late = [
            {**t, "rules": _rules_with_regex(self.engine.rules, t["pattern"])}
            for t in doc.regex_timeouts
        ]
        page.meta = {**(page.meta or {}), "regex_timeouts": late}

    def _record(
        self, session: Session, page: Page, hits: list[Hit], summary: AnalysisSummary
    ) -> None:
        """Mark the page analysed; store its detections and queue one capture if any."""
        page.analysis_status = AnalysisStatus.DONE
        if not hits:
            return
        capture = Capture(page_id=page.id, url=page.url, status=CaptureStatus.QUEUED)
        session.add(capture)
        summary.captures += 1
        for hit in hits:
            rule = hit.rule
            vt = self.ruleset.violation_types[rule.violation_type]
            session.add(
                Detection(
                    page_id=page.id,
                    capture=capture,
                    rule_id=rule.id,
                    rule_version=rule.version,
                    rule_fingerprint=rule.fingerprint,
                    rule_title=rule.title.model_dump(exclude_none=True),
                    violation_type=rule.violation_type,
                    violation_type_title=vt.model_dump(exclude_none=True),
                    legal_norm=rule.legal_norm.model_dump(exclude_none=True),
                    severity=rule.severity,
                    confidence=rule.confidence,
                    score=hit.score,
                    spans=[s.as_dict() for s in hit.spans],
                    explanation=hit.explanation,
                )
            )
            summary.detections += 1
            summary.by_type[rule.violation_type] = summary.by_type.get(rule.violation_type, 0) + 1
            logger.info(
                "Rule %(rule)s v%(version)s matched %(url)s",
                {"rule": rule.id, "version": rule.version, "url": page.url},
            )

    def drain(self, run_ids: Sequence[int] | None = None) -> AnalysisSummary:
        """Analyse until nothing is pending."""
        total = AnalysisSummary()
        while True:
            s = self.run_once(run_ids)
            if not s.pages:
                return total
            _add(total, s)

    def follow(self, run_ids: Sequence[int], poll_s: float = 0.2) -> AnalysisSummary:
        """Analyse the pages of crawl runs as they arrive, until the runs end and all is done."""
        total = AnalysisSummary()
        while True:
            s = self.run_once(run_ids)
            _add(total, s)
            if s.pages:
                continue
            with self.db.session() as session:
                live = session.scalar(
                    select(CrawlRun.id)
                    .where(
                        CrawlRun.id.in_(list(run_ids)),
                        CrawlRun.status.not_in(list(CrawlStatus.FINAL)),
                    )
                    .limit(1)
                )
            if live is None:
                _add(total, self.drain(run_ids))  # pages stored just before the runs ended
                return total
            time.sleep(poll_s)


def _rules_with_regex(rules: Sequence[Rule], pattern: str) -> list[str]:
    """The rules whose regex conditions use ``pattern`` (a time-out of it bears on them)."""
    return [
        rule.id
        for rule in rules
        if any(isinstance(n, RegexCondition) and pattern in n.regex for n in rule.nodes())
    ]


def _add(total: AnalysisSummary, s: AnalysisSummary) -> None:
    total.pages += s.pages
    total.failed += s.failed
    total.detections += s.detections
    total.captures += s.captures
    total.regex_timeouts += s.regex_timeouts
    for k, v in s.by_type.items():
        total.by_type[k] = total.by_type.get(k, 0) + v


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rules.analyze")
    parser.add_argument(
        "run_ids", type=int, nargs="*", help="crawl runs to follow (default: drain all)"
    )
    parser.add_argument("--follow", action="store_true", help="keep going until the runs end")
    parser.add_argument("--log-file")
    parser.add_argument(
        "--nice",
        type=int,
        default=int(os.environ.get("KUZET_ANALYSIS_NICE", "0")),
        help="lower this worker's CPU priority (fetching is the time-sensitive side)",
    )
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    logging.basicConfig(
        filename=args.log_file,
        level=logging.INFO,
        format="%(asctime)s [%(name)s] %(levelname)s: %(message)s",
    )
    settings = Settings.from_env()
    analyzer = Analyzer(
        Database.from_settings(settings, migrate=False),
        load_rules(settings.rules_dir),
        rules_dir=settings.rules_dir,
    )
    if args.follow and args.run_ids:
        summary = analyzer.follow(args.run_ids)
    else:
        summary = analyzer.drain(args.run_ids or None)
    print(
        f"analysed {summary.pages} pages, {summary.detections} detections, {summary.failed} failed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
