"""Evaluate a rule set against a document and explain every hit.

Compiled once per rule set: every keyword and proximity term of every active rule goes
into one :class:`rules.matchers.KeywordMatcher` (one scan per scope per page); regexes,
URL and domain patterns, domain lists, look-alike detectors and page signals are built
per condition. ``evaluate`` then walks each rule's condition tree and records, for every
hit, which conditions matched, with what evidence and score (:attr:`Hit.explanation`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from rules.domains import DomainSet
from rules.lookalike import LookalikeDetector
from rules.matchers import KeywordMatcher, Match, RegexMatcher
from rules.schema import (
    AllCondition,
    AnyCondition,
    DomainCondition,
    ImageCondition,
    KeywordsCondition,
    LookalikeCondition,
    NearCondition,
    NotCondition,
    RegexCondition,
    Rule,
    SignalCondition,
    UrlCondition,
)
from rules.signals import SignalHit, read_signals

CONTEXT_CHARS = 80
_WORDS = re.compile(r"\w+")


@dataclass
class Document:
    url: str = ""
    title: str = ""
    text: str = ""
    html: str = ""
    # Perceptual hashes (16 hex digits) of the page's images, with their sources.
    images: list[tuple[str, str]] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return (urlsplit(self.url).hostname or "") if "://" in self.url else ""

    def scope(self, name: str) -> str:
        return self.domain if name == "domain" else getattr(self, name, "") or ""


@dataclass
class Span:
    scope: str
    start: int  # offsets into the original text of `scope`
    end: int
    text: str
    term: str
    before: str = ""
    after: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "term": self.term,
            "before": self.before,
            "after": self.after,
        }


@dataclass
class Result:
    """One condition's outcome on one document: the explanation tree."""

    kind: str
    matched: bool
    score: float = 0.0
    spans: list[Span] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    children: list[Result] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "matched": self.matched, "score": self.score}
        if self.detail:
            out.update(self.detail)
        if self.spans:
            out["spans"] = [s.as_dict() for s in self.spans]
        if self.evidence:
            out["evidence"] = self.evidence
        if self.children:
            out["children"] = [c.as_dict() for c in self.children]
        return out

    def positive_spans(self) -> list[Span]:
        """Spans that support the hit (never those under a ``not``)."""
        if self.kind == "not" or not self.matched:
            return []
        return list(self.spans) + [s for c in self.children for s in c.positive_spans()]


@dataclass
class Hit:
    rule: Rule
    score: float
    spans: list[Span] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)

    @property
    def terms(self) -> list[str]:
        return sorted({s.term for s in self.spans})


class _Page:
    """Per-document caches shared by every rule's conditions."""

    def __init__(self, doc: Document, keywords: KeywordMatcher) -> None:
        self.doc = doc
        self._keywords = keywords
        self._found: dict[str, dict[str, list[Match]]] = {}
        self._words: dict[str, list[int]] = {}
        self._signals: list[SignalHit] | None = None

    def keyword_matches(self, scope: str) -> dict[str, list[Match]]:
        if scope not in self._found:
            by_term: dict[str, list[Match]] = {}
            for m in self._keywords.find(self.doc.scope(scope)):
                by_term.setdefault(m.term, []).append(m)
            self._found[scope] = by_term
        return self._found[scope]

    def word_index(self, scope: str, offset: int) -> int:
        if scope not in self._words:
            self._words[scope] = [m.start() for m in _WORDS.finditer(self.doc.scope(scope))]
        from bisect import bisect_right

        return bisect_right(self._words[scope], offset)

    def signals(self) -> list[SignalHit]:
        if self._signals is None:
            self._signals = read_signals(self.doc.html, self.doc.url)
        return self._signals

    def span(self, scope: str, start: int, end: int, term: str) -> Span:
        raw = self.doc.scope(scope)
        return Span(
            scope=scope,
            start=start,
            end=end,
            text=raw[start:end],
            term=term,
            before=raw[max(0, start - CONTEXT_CHARS) : start],
            after=raw[end : end + CONTEXT_CHARS],
        )


Evaluator = Callable[[_Page], Result]


class Engine:
    """Compiled once per rule set; ``evaluate`` is safe to call for every page.

    Only rules active on ``today`` (enabled, not deprecated, not paused) are compiled.
    """

    def __init__(self, ruleset: Any, today: date | None = None, scanner: str | None = None) -> None:
        self.ruleset = ruleset
        today = today or date.today()
        self._rules: list[Rule] = [r for r in ruleset.rules if r.active(today)]
        terms = [t for rule in self._rules for t in rule.keywords]
        self._keywords = KeywordMatcher(terms, scanner=scanner)
        self._domain_lists: dict[str, DomainSet] = getattr(ruleset, "domain_lists", {})
        self._compiled: list[tuple[Rule, Evaluator]] = [
            (rule, self._compile(rule.match)) for rule in self._rules
        ]
        self._keyword_scopes = sorted(
            {
                scope
                for rule in self._rules
                for node in rule.nodes()
                if isinstance(node, KeywordsCondition | NearCondition)
                for scope in node.scope
            }
        )

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    def evaluate(self, doc: Document) -> list[Hit]:
        return self._evaluate(_Page(doc, self._keywords))

    def evaluate_many(self, docs: list[Document]) -> list[list[Hit]]:
        """``evaluate`` for a batch: keywords are found for all documents in one scan per
        scope (see :meth:`KeywordMatcher.find_many`)."""
        pages = [_Page(doc, self._keywords) for doc in docs]
        for scope in self._keyword_scopes:
            found = self._keywords.find_many([doc.scope(scope) for doc in docs])
            for page, matches in zip(pages, found, strict=True):
                by_term: dict[str, list[Match]] = {}
                for m in matches:
                    by_term.setdefault(m.term, []).append(m)
                page._found[scope] = by_term
        return [self._evaluate(page) for page in pages]

    def _evaluate(self, page: _Page) -> list[Hit]:
        hits: list[Hit] = []
        for rule, evaluator in self._compiled:
            result = evaluator(page)
            if result.matched and result.score >= rule.threshold:
                spans = sorted(result.positive_spans(), key=lambda s: (s.scope, s.start))
                hits.append(
                    Hit(rule=rule, score=result.score, spans=spans, explanation=result.as_dict())
                )
        return hits

    # -- compiling conditions into evaluators ---------------------------------------------

    def _compile(self, cond: Any) -> Evaluator:
        if isinstance(cond, AllCondition):
            return self._all([self._compile(c) for c in cond.all])
        if isinstance(cond, AnyCondition):
            return self._any([self._compile(c) for c in cond.any], cond.min)
        if isinstance(cond, NotCondition):
            return self._not(self._compile(cond.not_))
        builder = {
            KeywordsCondition: self._keywords_leaf,
            NearCondition: self._near_leaf,
            RegexCondition: self._regex_leaf,
            UrlCondition: self._url_leaf,
            DomainCondition: self._domain_leaf,
            LookalikeCondition: self._lookalike_leaf,
            SignalCondition: self._signal_leaf,
            ImageCondition: self._image_leaf,
        }[type(cond)]
        return builder(cond)

    @staticmethod
    def _all(children: list[Evaluator]) -> Evaluator:
        def run(page: _Page) -> Result:
            results = [c(page) for c in children]
            ok = all(r.matched for r in results)
            return Result("all", ok, sum(r.score for r in results if r.matched), children=results)

        return run

    @staticmethod
    def _any(children: list[Evaluator], minimum: int) -> Evaluator:
        def run(page: _Page) -> Result:
            results = [c(page) for c in children]
            matched = [r for r in results if r.matched]
            return Result(
                "any",
                len(matched) >= minimum,
                sum(r.score for r in matched),
                children=results,
                detail={"min": minimum} if minimum > 1 else {},
            )

        return run

    @staticmethod
    def _not(child: Evaluator) -> Evaluator:
        def run(page: _Page) -> Result:
            inner = child(page)
            return Result("not", not inner.matched, 0.0, children=[inner])

        return run

    @staticmethod
    def _keywords_leaf(cond: KeywordsCondition) -> Evaluator:
        weights, scopes, min_score = cond.keywords, cond.scope, cond.min_score

        def run(page: _Page) -> Result:
            spans: list[Span] = []
            found: set[str] = set()
            for scope in scopes:
                by_term = page.keyword_matches(scope)
                for term in weights:
                    for m in by_term.get(term, ()):
                        found.add(term)
                        spans.append(page.span(scope, m.start, m.end, term))
            score = sum(weights[t] for t in found)
            return Result(
                "keywords",
                score >= min_score,
                score,
                spans=spans,
                detail={"terms": sorted(found), "min_score": min_score},
            )

        return run

    @staticmethod
    def _near_leaf(cond: NearCondition) -> Evaluator:
        terms, within, scopes, weight = cond.near, cond.within, cond.scope, cond.weight

        def run(page: _Page) -> Result:
            for scope in scopes:
                by_term = page.keyword_matches(scope)
                if not all(by_term.get(t) for t in terms):
                    continue
                # Positions (in words) of every occurrence, then the tightest window
                # holding all the terms.
                occ = sorted(
                    (page.word_index(scope, m.start), i, m)
                    for i, t in enumerate(terms)
                    for m in by_term[t]
                )
                best: tuple[int, list[Match]] | None = None
                last: dict[int, tuple[int, Match]] = {}
                for pos, i, m in occ:
                    last[i] = (pos, m)
                    if len(last) == len(terms):
                        lo = min(p for p, _ in last.values())
                        width = pos - lo
                        if width <= within and (best is None or width < best[0]):
                            best = (width, [mm for _, mm in last.values()])
                if best is not None:
                    spans = [page.span(scope, m.start, m.end, m.term) for m in best[1]]
                    return Result(
                        "near",
                        True,
                        weight,
                        spans=spans,
                        detail={"within": within, "words": best[0]},
                    )
            return Result("near", False, 0.0, detail={"within": within})

        return run

    @staticmethod
    def _regex_leaf(cond: RegexCondition) -> Evaluator:
        matcher = RegexMatcher(list(cond.regex))
        weights, scopes, min_score = cond.regex, cond.scope, cond.min_score

        def run(page: _Page) -> Result:
            spans: list[Span] = []
            found: set[str] = set()
            for scope in scopes:
                for m in matcher.find(page.doc.scope(scope)):
                    found.add(m.term)
                    spans.append(page.span(scope, m.start, m.end, m.term))
            score = sum(weights[t] for t in found)
            return Result("regex", score >= min_score, score, spans=spans)

        return run

    @staticmethod
    def _url_leaf(cond: UrlCondition) -> Evaluator:
        compiled = [(p, re.compile(fnmatch.translate(p), re.IGNORECASE)) for p in cond.url]

        def run(page: _Page) -> Result:
            url = page.doc.url
            for pattern, regex in compiled:
                if url and regex.match(url):
                    return Result("url", True, cond.weight, evidence=[{"pattern": pattern}])
            return Result("url", False)

        return run

    def _domain_leaf(self, cond: DomainCondition) -> Evaluator:
        inline = DomainSet()
        for entry in cond.domain:
            inline.add(entry.lower())
        lists = [(name, self._domain_lists[name]) for name in cond.resolved_lists]

        def run(page: _Page) -> Result:
            host = page.doc.domain
            if host:
                entry = inline.lookup(host)
                if entry:
                    return Result("domain", True, cond.weight, evidence=[{"entry": entry}])
                for name, dset in lists:
                    entry = dset.lookup(host)
                    if entry:
                        ev = {"entry": entry, "list": name}
                        return Result("domain", True, cond.weight, evidence=[ev])
            return Result("domain", False)

        return run

    @staticmethod
    def _lookalike_leaf(cond: LookalikeCondition) -> Evaluator:
        detector = LookalikeDetector(cond.lookalike_of, list(cond.fuzzers))

        def run(page: _Page) -> Result:
            found = detector.check(page.doc.domain)
            if found:
                return Result("lookalike", True, cond.weight, evidence=[found.as_dict()])
            return Result("lookalike", False)

        return run

    @staticmethod
    def _signal_leaf(cond: SignalCondition) -> Evaluator:
        wanted = set(cond.signal)

        def run(page: _Page) -> Result:
            seen = [s for s in page.signals() if s.signal in wanted]
            kinds = {s.signal for s in seen}
            ok = len(kinds) >= cond.min
            return Result(
                "signal", ok, cond.weight if ok else 0.0, evidence=[s.as_dict() for s in seen]
            )

        return run

    @staticmethod
    def _image_leaf(cond: ImageCondition) -> Evaluator:
        known = [(h, int(h, 16)) for h in cond.image_phash]

        def run(page: _Page) -> Result:
            for src, phash in page.doc.images:
                try:
                    value = int(phash, 16)
                except ValueError:
                    continue
                for h, k in known:
                    distance = (value ^ k).bit_count()
                    if distance <= cond.max_distance:
                        ev = {"image": src, "phash": phash, "known": h, "distance": distance}
                        return Result("image", True, cond.weight, evidence=[ev])
            return Result("image", False)

        return run


@dataclass
class TestFailure:
    rule_id: str
    kind: str  # "match" (should have matched) or "no_match" (should not have)
    text: str


def run_inline_tests(ruleset: Any) -> tuple[int, list[TestFailure]]:
    """Run every rule's inline examples against that rule alone.

    An example stands for a whole page: its text is the page's URL (when it looks like
    one), title, text and HTML, so a domain or signal rule can be tested too.
    """
    failures: list[TestFailure] = []
    count = 0
    for rule in ruleset.rules:
        testable = rule.model_copy(
            update={"enabled": True, "disabled_until": None, "status": "stable"}
        )
        single = _Single(ruleset, testable)
        engine = Engine(single, today=date.max)
        for text in rule.tests.match:
            count += 1
            if not engine.evaluate(_example(text)):
                failures.append(TestFailure(rule.id, "match", text))
        for text in rule.tests.no_match:
            count += 1
            if engine.evaluate(_example(text)):
                failures.append(TestFailure(rule.id, "no_match", text))
    return count, failures


@dataclass
class _Single:
    """A one-rule view of a rule set (same catalogs and lists)."""

    parent: Any
    rule: Rule

    @property
    def rules(self) -> list[Rule]:
        return [self.rule]

    @property
    def domain_lists(self) -> dict[str, DomainSet]:
        return getattr(self.parent, "domain_lists", {})


def _example(text: str) -> Document:
    url = text.split()[0] if text.startswith(("http://", "https://")) else ""
    return Document(url=url, title=text, text=text, html=text)
