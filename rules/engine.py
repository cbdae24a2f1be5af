"""Evaluate a rule set against a document and explain every hit.

Compiled once per rule set: every keyword and proximity term of every active rule goes
into one :class:`rules.matchers.KeywordMatcher` (one scan per scope per page, or per batch
of pages); every condition tree becomes an evaluator (:mod:`rules.conditions`).
``evaluate`` runs them and records, for every hit, which conditions matched, with what
evidence and score (:attr:`Hit.explanation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rules.conditions import CONTEXT_CHARS, Compiler, Document, Evaluator, PageView, Span
from rules.domains import DomainSet
from rules.matchers import KeywordMatcher
from rules.schema import Example, ExamplePage, KeywordsCondition, NearCondition, Rule

__all__ = ["CONTEXT_CHARS", "Document", "Engine", "Hit", "Span", "run_inline_tests"]


@dataclass
class Hit:
    rule: Rule
    score: float
    spans: list[Span] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)

    @property
    def terms(self) -> list[str]:
        return sorted({s.term for s in self.spans})


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
        compiler = Compiler(getattr(ruleset, "domain_lists", {}))
        self._compiled: list[tuple[Rule, Evaluator]] = [
            (rule, compiler.compile(rule.match)) for rule in self._rules
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
        return self._evaluate(PageView(doc, self._keywords))

    def evaluate_many(self, docs: list[Document]) -> list[list[Hit]]:
        """``evaluate`` for a batch: keywords are found for all documents in one scan per
        scope (see :meth:`KeywordMatcher.find_many`)."""
        pages = [PageView(doc, self._keywords) for doc in docs]
        for scope in self._keyword_scopes:
            found = self._keywords.find_many([doc.scope(scope) for doc in docs])
            for page, matches in zip(pages, found, strict=True):
                page.set_keyword_matches(scope, matches)
        return [self._evaluate(page) for page in pages]

    def _evaluate(self, page: PageView) -> list[Hit]:
        hits: list[Hit] = []
        for rule, evaluator in self._compiled:
            result = evaluator(page)
            if result.matched and result.score >= rule.threshold:
                spans = sorted(result.positive_spans(), key=lambda s: (s.scope, s.start))
                hits.append(
                    Hit(rule=rule, score=result.score, spans=spans, explanation=result.as_dict())
                )
        return hits


@dataclass
class TestFailure:
    rule_id: str
    kind: str  # "match" (should have matched) or "no_match" (should not have)
    example: Example

    @property
    def text(self) -> str:
        """The example as one line, for reports."""
        if isinstance(self.example, str):
            return self.example
        return self.example.model_dump_json(exclude_defaults=True)


def run_inline_tests(ruleset: Any) -> tuple[int, list[TestFailure]]:
    """Run every rule's inline examples against that rule alone.

    A string example stands for a whole page: its text is the page's URL (when it looks
    like one), title, text and HTML, so a domain or signal rule can be tested too. An
    :class:`ExamplePage` sets those parts (and image hashes) one by one.
    """
    failures: list[TestFailure] = []
    count = 0
    for rule in ruleset.rules:
        testable = rule.model_copy(
            update={"enabled": True, "disabled_until": None, "status": "stable"}
        )
        single = _Single(ruleset, testable)
        engine = Engine(single, today=date.max)
        for example in rule.tests.match:
            count += 1
            if not engine.evaluate(_example(example)):
                failures.append(TestFailure(rule.id, "match", example))
        for example in rule.tests.no_match:
            count += 1
            if engine.evaluate(_example(example)):
                failures.append(TestFailure(rule.id, "no_match", example))
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


def _example(example: Example) -> Document:
    if isinstance(example, ExamplePage):
        return Document(
            url=example.url,
            title=example.title,
            text=example.text,
            html=example.html or example.text,
            images=[(f"example-{i + 1}", h) for i, h in enumerate(example.images)],
        )
    text = example
    url = text.split()[0] if text.startswith(("http://", "https://")) else ""
    return Document(url=url, title=text, text=text, html=text)
