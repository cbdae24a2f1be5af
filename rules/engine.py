"""Evaluate a rule set against a document and explain every hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.loader import RuleSet
from rules.matchers import KeywordMatcher, RegexMatcher
from rules.schema import Rule

CONTEXT_CHARS = 80


@dataclass
class Document:
    url: str = ""
    title: str = ""
    text: str = ""
    html: str = ""

    def scope(self, name: str) -> str:
        return getattr(self, name)


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
class Hit:
    rule: Rule
    score: float
    spans: list[Span] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        return sorted({s.term for s in self.spans})


class Engine:
    """Compiled once per rule set; ``evaluate`` is safe to call for every page.

    All keywords of all enabled rules share one automaton; each scope a rule reads is
    folded once per document.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._rules = ruleset.enabled
        self._owners: dict[str, list[int]] = {}
        for i, rule in enumerate(self._rules):
            for kw in rule.keywords:
                self._owners.setdefault(kw, []).append(i)
        self._keywords = KeywordMatcher(list(self._owners))
        self._regex: list[tuple[int, RegexMatcher]] = [
            (i, RegexMatcher(rule.regex)) for i, rule in enumerate(self._rules) if rule.regex
        ]
        self._scopes = sorted({sc for rule in self._rules for sc in rule.scope})

    def evaluate(self, doc: Document) -> list[Hit]:
        spans: dict[int, list[Span]] = {}

        def add(i: int, scope: str, raw: str, start: int, end: int, term: str) -> None:
            spans.setdefault(i, []).append(
                Span(
                    scope=scope,
                    start=start,
                    end=end,
                    text=raw[start:end],
                    term=term,
                    before=raw[max(0, start - CONTEXT_CHARS) : start],
                    after=raw[end : end + CONTEXT_CHARS],
                )
            )

        for scope in self._scopes:
            raw = doc.scope(scope) or ""
            if not raw:
                continue
            for m in self._keywords.find(raw):
                for i in self._owners[m.term]:
                    if scope in self._rules[i].scope:
                        add(i, scope, raw, m.start, m.end, m.term)
            for i, matcher in self._regex:
                if scope in self._rules[i].scope:
                    for m in matcher.find(raw):
                        add(i, scope, raw, m.start, m.end, m.term)

        hits: list[Hit] = []
        for i, rule_spans in sorted(spans.items()):
            rule = self._rules[i]
            distinct = len({s.term for s in rule_spans})
            if distinct >= rule.min_matches:
                rule_spans.sort(key=lambda s: (s.scope, s.start))
                hits.append(Hit(rule=rule, score=float(distinct), spans=rule_spans))
        return hits


@dataclass
class TestFailure:
    rule_id: str
    kind: str  # "match" (should have matched) or "no_match" (should not have)
    text: str


def run_inline_tests(ruleset: RuleSet) -> tuple[int, list[TestFailure]]:
    """Run every rule's inline examples against that rule alone, as page text."""
    failures: list[TestFailure] = []
    count = 0
    for rule in ruleset.rules:
        single = RuleSet(
            rules=[rule.model_copy(update={"enabled": True})],
            violation_types=ruleset.violation_types,
        )
        engine = Engine(single)
        for text in rule.tests.match:
            count += 1
            if not engine.evaluate(_example(text)):
                failures.append(TestFailure(rule.id, "match", text))
        for text in rule.tests.no_match:
            count += 1
            if engine.evaluate(_example(text)):
                failures.append(TestFailure(rule.id, "no_match", text))
    return count, failures


def _example(text: str) -> Document:
    # An inline example stands for whatever the rule reads: its URL, title, text or HTML.
    return Document(url=text, title=text, text=text, html=text)
