"""Matchers: the pluggable pieces that find evidence for a rule in folded text."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from rules.normalize import fold


@dataclass(frozen=True)
class Match:
    """A hit in folded text: [start, end) and the rule term that produced it."""

    start: int
    end: int
    term: str


class Matcher(ABC):
    """Finds a rule's terms in folded text.

    ``find`` receives text already folded with :func:`rules.normalize.fold_text` and
    returns every non-overlapping match, in order, with ``term`` naming the keyword or
    pattern exactly as written in the rule (so the score counts distinct terms and the
    explanation can cite them). It must not raise on any input text.
    """

    @abstractmethod
    def find(self, folded: str) -> list[Match]: ...


def keyword_pattern(keyword: str) -> str:
    """A folded keyword as a regex: whole words, ``*`` at the end allows any word ending
    (a stem), inner whitespace matches any run of whitespace."""
    kw = fold(keyword.strip())
    stem = kw.endswith("*")
    kw = kw.rstrip("*").strip()
    body = r"\s+".join(re.escape(part) for part in kw.split())
    return rf"(?<!\w){body}" + (r"\w*" if stem else r"(?!\w)")


class KeywordMatcher(Matcher):
    def __init__(self, keywords: list[str]) -> None:
        self._terms = list(keywords)
        # One alternation per rule; group index → term.
        self._regex = (
            re.compile("|".join(f"({keyword_pattern(k)})" for k in keywords)) if keywords else None
        )

    def find(self, folded: str) -> list[Match]:
        if self._regex is None:
            return []
        out = []
        for m in self._regex.finditer(folded):
            idx = m.lastindex or 1
            out.append(Match(m.start(), m.end(), self._terms[idx - 1]))
        return out


class RegexMatcher(Matcher):
    """Patterns written by analysts, matched case-insensitively on folded text."""

    def __init__(self, patterns: list[str]) -> None:
        self._compiled = [(p, re.compile(p, re.IGNORECASE)) for p in patterns]

    def find(self, folded: str) -> list[Match]:
        out = []
        for term, regex in self._compiled:
            out.extend(
                Match(m.start(), m.end(), term)
                for m in regex.finditer(folded)
                if m.end() > m.start()
            )
        return sorted(out, key=lambda m: m.start)
