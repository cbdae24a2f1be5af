"""Conditions compiled into evaluators: what each kind of condition looks at on a page,
how they combine, and the explanation tree (:class:`Result`) every evaluation leaves.

A :class:`PageView` holds what all rules share on one page (keyword matches per scope,
word positions, page signals); an evaluator is a function of it.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
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
    # Filled by evaluation: the rule regexes that ran out of time on this document, each
    # once, as {"pattern": ..., "scope": ...} (see rules.matchers.REGEX_TIMEOUT_S).
    regex_timeouts: list[dict[str, str]] = field(default_factory=list)

    def note_timeout(self, pattern: str, scope: str) -> None:
        entry = {"pattern": pattern, "scope": scope}
        if entry not in self.regex_timeouts:
            self.regex_timeouts.append(entry)

    @staticmethod
    def images_of(meta: dict[str, Any] | None) -> list[tuple[str, str]]:
        """The hashed images a stored page's ``meta`` lists (failed ones left out)."""
        return [
            (img["src"], img["phash"])
            for img in (meta or {}).get("images") or []
            if isinstance(img, dict) and img.get("phash")
        ]

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


class PageView:
    """Per-document caches shared by every rule's conditions."""

    def __init__(self, doc: Document, keywords: KeywordMatcher) -> None:
        self.doc = doc
        self._keywords = keywords
        self._found: dict[str, dict[str, list[Match]]] = {}
        self._words: dict[str, list[int]] = {}
        self._signals: list[SignalHit] | None = None

    def set_keyword_matches(self, scope: str, matches: list[Match]) -> None:
        """Matches found elsewhere (a batch scan) for one scope of this page."""
        by_term: dict[str, list[Match]] = {}
        for m in matches:
            by_term.setdefault(m.term, []).append(m)
        self._found[scope] = by_term

    def keyword_matches(self, scope: str) -> dict[str, list[Match]]:
        if scope not in self._found:
            self.set_keyword_matches(scope, self._keywords.find(self.doc.scope(scope)))
        return self._found[scope]

    def word_index(self, scope: str, offset: int) -> int:
        if scope not in self._words:
            self._words[scope] = [m.start() for m in _WORDS.finditer(self.doc.scope(scope))]
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


Evaluator = Callable[[PageView], Result]


class Compiler:
    """Turns condition trees into evaluators (domain lists come from the rule set)."""

    def __init__(self, domain_lists: dict[str, DomainSet]) -> None:
        self._domain_lists = domain_lists

    def compile(self, cond: Any) -> Evaluator:
        if isinstance(cond, AllCondition):
            return self._all([self.compile(c) for c in cond.all])
        if isinstance(cond, AnyCondition):
            return self._any([self.compile(c) for c in cond.any], cond.min)
        if isinstance(cond, NotCondition):
            return self._not(self.compile(cond.not_))
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
        def run(page: PageView) -> Result:
            results = [c(page) for c in children]
            ok = all(r.matched for r in results)
            return Result("all", ok, sum(r.score for r in results if r.matched), children=results)

        return run

    @staticmethod
    def _any(children: list[Evaluator], minimum: int) -> Evaluator:
        def run(page: PageView) -> Result:
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
        def run(page: PageView) -> Result:
            inner = child(page)
            return Result("not", not inner.matched, 0.0, children=[inner])

        return run

    @staticmethod
    def _keywords_leaf(cond: KeywordsCondition) -> Evaluator:
        weights, scopes, min_score = cond.keywords, cond.scope, cond.min_score

        def run(page: PageView) -> Result:
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

        def run(page: PageView) -> Result:
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

        def run(page: PageView) -> Result:
            spans: list[Span] = []
            found: set[str] = set()
            late: list[dict[str, str]] = []
            for scope in scopes:
                result = matcher.search(page.doc.scope(scope))
                for m in result.matches:
                    found.add(m.term)
                    spans.append(page.span(scope, m.start, m.end, m.term))
                for term in result.timed_out:
                    page.doc.note_timeout(term, scope)
                    late.append({"pattern": term, "scope": scope})
            score = sum(weights[t] for t in found)
            detail = {"timed_out": late} if late else {}
            return Result("regex", score >= min_score, score, spans=spans, detail=detail)

        return run

    @staticmethod
    def _url_leaf(cond: UrlCondition) -> Evaluator:
        compiled = [(p, re.compile(fnmatch.translate(p), re.IGNORECASE)) for p in cond.url]

        def run(page: PageView) -> Result:
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

        def run(page: PageView) -> Result:
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

        def run(page: PageView) -> Result:
            found = detector.check(page.doc.domain)
            if found:
                return Result("lookalike", True, cond.weight, evidence=[found.as_dict()])
            return Result("lookalike", False)

        return run

    @staticmethod
    def _signal_leaf(cond: SignalCondition) -> Evaluator:
        wanted = set(cond.signal)

        def run(page: PageView) -> Result:
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

        def run(page: PageView) -> Result:
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
