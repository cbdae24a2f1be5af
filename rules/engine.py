"""Evaluate a rule set against a document and explain every hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.loader import RuleSet
from rules.matchers import KeywordMatcher, Matcher, RegexMatcher
from rules.normalize import Folded, fold_text
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
    """Compiled once per rule set; ``evaluate`` is safe to call for every page."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._compiled: list[tuple[Rule, list[Matcher]]] = [
            (rule, [KeywordMatcher(rule.keywords), RegexMatcher(rule.regex)])
            for rule in ruleset.enabled
        ]

    def evaluate(self, doc: Document) -> list[Hit]:
        folded: dict[str, Folded] = {}
        hits: list[Hit] = []
        for rule, matchers in self._compiled:
            spans: list[Span] = []
            for scope in rule.scope:
                if scope not in folded:
                    folded[scope] = fold_text(doc.scope(scope) or "")
                f = folded[scope]
                for matcher in matchers:
                    for m in matcher.find(f.folded):
                        start, end = f.span(m.start, m.end)
                        spans.append(
                            Span(
                                scope=scope,
                                start=start,
                                end=end,
                                text=f.original[start:end],
                                term=m.term,
                                before=f.original[max(0, start - CONTEXT_CHARS) : start],
                                after=f.original[end : end + CONTEXT_CHARS],
                            )
                        )
            distinct = len({s.term for s in spans})
            if distinct >= rule.min_matches:
                hits.append(Hit(rule=rule, score=float(distinct), spans=spans))
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
