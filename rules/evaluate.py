"""Measure rules before they go live: on a labelled corpus, and against stored pages.

Corpus evaluation (``kuzet rules eval --corpus DIR``): DIR holds documents (``.html``,
``.htm`` or ``.txt``) and ``labels.csv`` with the columns ``file``, ``label`` and
optionally ``url``. ``label`` is a violation-type code, several joined with ``;``, or
empty / ``clean`` for a page that must not be flagged. Per category and per rule we
count true and false positives and misses, and list them.

Backtest (``kuzet rules backtest PACK``): run a pack as it is now on disk over the latest
analysed version of every stored page, and compare with the detections its rules
(the same ids, any version) already made: what it would newly flag, and what it would
stop flagging.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crawler.encoding import decode
from crawler.extract import understand
from rules.engine import Document, Engine
from rules.loader import RulePackError, RuleSet, load_pack_set, load_rules
from rules.schema import SignalCondition

DOC_SUFFIXES = (".html", ".htm", ".txt")


class CorpusError(ValueError):
    """A corpus that cannot be evaluated; names the file and line."""


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "false_positives": self.false_positives,
            "misses": self.misses,
        }


@dataclass
class EvalReport:
    documents: int
    by_category: dict[str, Counts]
    by_rule: dict[str, Counts]

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "by_category": {k: v.as_dict() for k, v in sorted(self.by_category.items())},
            "by_rule": {k: v.as_dict() for k, v in sorted(self.by_rule.items())},
        }


@dataclass(frozen=True)
class LabelledDoc:
    name: str
    labels: frozenset[str]
    doc: Document


def read_corpus(directory: Path, known: set[str]) -> list[LabelledDoc]:
    labels_path = directory / "labels.csv"
    if not labels_path.is_file():
        raise CorpusError(f"{labels_path}: labels.csv is missing")
    out: list[LabelledDoc] = []
    with labels_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "label"} - set(reader.fieldnames or [])
        if missing:
            raise CorpusError(f"{labels_path}:1: missing column(s): {', '.join(sorted(missing))}")
        for row in reader:
            line = reader.line_num
            name = (row.get("file") or "").strip()
            if not name:
                raise CorpusError(f"{labels_path}:{line}: empty file name")
            path = directory / name
            if not path.is_file():
                raise CorpusError(f"{labels_path}:{line}: {name}: no such file")
            if path.suffix.lower() not in DOC_SUFFIXES:
                raise CorpusError(f"{labels_path}:{line}: {name}: not .html, .htm or .txt")
            raw_labels = {x.strip() for x in (row.get("label") or "").split(";")} - {"", "clean"}
            unknown = raw_labels - known
            if unknown:
                raise CorpusError(
                    f"{labels_path}:{line}: unknown label(s) {', '.join(sorted(unknown))} "
                    f"(known: {', '.join(sorted(known))}, or 'clean')"
                )
            out.append(LabelledDoc(name, frozenset(raw_labels), _document(path, row.get("url"))))
    return out


def _document(path: Path, url: str | None) -> Document:
    raw = path.read_bytes()
    if path.suffix.lower() == ".txt":
        text, _ = decode(raw, None)
        return Document(url=(url or "").strip(), text=text, html=text)
    page = understand(raw)
    return Document(url=(url or "").strip(), title=page.title, text=page.text, html=page.html)


def evaluate_corpus(ruleset: RuleSet, directory: Path, today: date | None = None) -> EvalReport:
    docs = read_corpus(directory, set(ruleset.violation_types))
    engine = Engine(ruleset, today=today)
    rules = engine.rules
    by_category: dict[str, Counts] = {vt: Counts() for vt in {r.violation_type for r in rules}}
    by_rule: dict[str, Counts] = {r.id: Counts() for r in rules}
    for item in docs:
        fired = {h.rule.id for h in engine.evaluate(item.doc)}
        for vt, counts in by_category.items():
            predicted = any(r.violation_type == vt and r.id in fired for r in rules)
            _count(counts, predicted, vt in item.labels, item.name)
        for rule in rules:
            actual = rule.violation_type in item.labels
            _count(by_rule[rule.id], rule.id in fired, actual, item.name)
    return EvalReport(len(docs), by_category, by_rule)


def _count(counts: Counts, predicted: bool, actual: bool, name: str) -> None:
    if predicted and actual:
        counts.tp += 1
    elif predicted:
        counts.fp += 1
        counts.false_positives.append(name)
    elif actual:
        counts.fn += 1
        counts.misses.append(name)


# -- backtest -----------------------------------------------------------------------------


@dataclass
class PageChange:
    page_id: int
    url: str
    rules: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"page_id": self.page_id, "url": self.url, "rules": self.rules}


@dataclass
class BacktestReport:
    pack: str
    rule_ids: list[str]
    pages: int
    newly_flagged: list[PageChange] = field(default_factory=list)
    no_longer_flagged: list[PageChange] = field(default_factory=list)
    still_flagged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "rules": self.rule_ids,
            "pages": self.pages,
            "newly_flagged": [c.as_dict() for c in self.newly_flagged],
            "no_longer_flagged": [c.as_dict() for c in self.no_longer_flagged],
            "still_flagged": self.still_flagged,
        }


def load_candidate(rules_dir: Path, pack: str) -> tuple[str, RuleSet]:
    """The pack to backtest: a path to a pack file, or the name of a pack in rules_dir."""
    live = load_rules(rules_dir)
    path = Path(pack)
    if not path.is_file():
        matches = [p for p in sorted(rules_dir.glob("*.yaml")) if p.stem == pack]
        if not matches:
            names = sorted({p.stem for p in rules_dir.glob("*.yaml")} - {"violation_types"})
            known = ", ".join(names)
            raise RulePackError(
                rules_dir, None, "", f"no pack {pack!r} (packs: {known})",
                code="rules.no_such_pack", pack=pack, known=known,
            )  # fmt: skip
        path = matches[0]
    return load_pack_set(path, live.violation_types)


def _latest_pages(session: Any, batch: int = 200) -> Iterator[Any]:
    from kuzet.models import AnalysisStatus, Page

    latest = (
        select(func.max(Page.id))
        .where(Page.analysis_status == AnalysisStatus.DONE)
        .group_by(Page.url)
        .scalar_subquery()
    )
    last_id = 0
    while True:
        rows = session.scalars(
            select(Page)
            .where(Page.id.in_(latest), Page.id > last_id)
            .options(selectinload(Page.body))
            .order_by(Page.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def backtest(db: Any, pack: str, candidate: RuleSet, today: date | None = None) -> BacktestReport:
    from kuzet.models import Detection

    engine = Engine(candidate, today=today)
    ids = [r.id for r in candidate.rules]
    needs_html = any(
        "html" in getattr(n, "scope", ()) or isinstance(n, SignalCondition)
        for r in candidate.rules
        for n in r.nodes()
    )
    report = BacktestReport(pack=pack, rule_ids=ids, pages=0)
    with db.session() as s:
        flagged: dict[int, set[str]] = {}
        for page_id, rule_id in s.execute(
            select(Detection.page_id, Detection.rule_id).where(Detection.rule_id.in_(ids))
        ):
            flagged.setdefault(page_id, set()).add(rule_id)
        seen: set[int] = set()
        for page in _latest_pages(s):
            report.pages += 1
            seen.add(page.id)
            html = ""
            if needs_html and page.body is not None:
                html, _ = decode(page.body.raw(), page.charset)
            doc = Document(
                url=page.url,
                title=page.title or "",
                text=page.text or "",
                html=html,
                images=Document.images_of(page.meta),
            )
            now = {h.rule.id for h in engine.evaluate(doc)}
            before = flagged.get(page.id, set())
            if now and not before:
                report.newly_flagged.append(PageChange(page.id, page.url, sorted(now)))
            elif before and not now:
                report.no_longer_flagged.append(PageChange(page.id, page.url, sorted(before)))
            elif now:
                report.still_flagged += 1
    return report
