"""Matchers: the pluggable pieces that find evidence for rules in folded text."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from rules.normalize import fold


@dataclass(frozen=True)
class Match:
    """A hit in folded text: [start, end) and the rule term that produced it."""

    start: int
    end: int
    term: str


class Matcher(ABC):
    """Finds rule terms in folded text.

    ``find`` receives text already folded with :func:`rules.normalize.fold_text` and
    returns every match in order of position, with ``term`` naming the keyword or pattern
    exactly as written in the rule (so the score counts distinct terms and the
    explanation can cite them). It must not raise on any input text.
    """

    @abstractmethod
    def find(self, folded: str) -> list[Match]: ...


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class KeywordMatcher(Matcher):
    """Whole-word keywords and phrases through one Aho–Corasick automaton.

    A trailing ``*`` makes a stem: the match extends over the rest of the word. Folding
    (case, ё, whitespace) is applied to keywords and text alike.
    """

    def __init__(self, keywords: Sequence[str]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        entries: dict[str, list[tuple[str, bool]]] = {}
        for kw in keywords:
            stem = kw.strip().endswith("*")
            key = fold(kw.strip().rstrip("*").strip())
            entries.setdefault(key, []).append((kw, stem))
        if entries:
            automaton = ahocorasick.Automaton()
            for key, owners in entries.items():
                automaton.add_word(key, (len(key), tuple(owners)))
            automaton.make_automaton()
            self._automaton = automaton

    def find(self, folded: str) -> list[Match]:
        if self._automaton is None:
            return []
        out: list[Match] = []
        n = len(folded)
        for last, (length, owners) in self._automaton.iter(folded):
            start, end = last - length + 1, last + 1
            if start > 0 and _is_word(folded[start - 1]) and _is_word(folded[start]):
                continue
            for term, stem in owners:
                if stem:
                    e = end
                    while e < n and _is_word(folded[e]):
                        e += 1
                    out.append(Match(start, e, term))
                elif end >= n or not (_is_word(folded[end]) and _is_word(folded[end - 1])):
                    out.append(Match(start, end, term))
        out.sort(key=lambda m: (m.start, m.end))
        return out


class RegexMatcher(Matcher):
    """Patterns written by analysts, matched case-insensitively on folded text."""

    def __init__(self, patterns: Sequence[str]) -> None:
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
