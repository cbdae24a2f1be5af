"""Matchers: the pluggable pieces that find evidence for rules in a document's text."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rules import normalize
from rules.inflect import Stem, parse_keyword, stems, tail_ok
from rules.scanner import LiteralScanner, make_scanner
from rules.translit import latin_variants, to_cyrillic


class Match(NamedTuple):
    """A hit: [start, end) in the *original* text and the rule term that produced it.
    (A named tuple: pages can hold thousands, and these are built fastest.)"""

    start: int
    end: int
    term: str


class Matcher(ABC):
    """Finds rule terms in a text.

    ``find`` receives the original text of one scope and returns every match in order of
    position, with offsets into that text and ``term`` naming the keyword or pattern
    exactly as written in the rule (so scores count distinct terms and explanations can
    cite them). Normalisation is the matcher's own business. It must not raise on any
    input text.
    """

    @abstractmethod
    def find(self, text: str) -> list[Match]: ...


@dataclass(frozen=True)
class _Literal:
    term: str
    stem: Stem
    latin: bool  # a Latin spelling of a Cyrillic keyword


class KeywordMatcher(Matcher):
    """Whole-word keywords and phrases, normalised (:mod:`rules.normalize`), in their
    inflected forms (:mod:`rules.inflect`) and Latin spellings (:mod:`rules.translit`),
    all through one multi-literal scan.

    Keyword syntax: ``слово`` (any form), ``=слово`` (this form only), ``слов*`` (any
    ending). In a phrase only the last word inflects.
    """

    def __init__(self, keywords: Sequence[str], *, scanner: str | None = None) -> None:
        self._meta: list[_Literal] = []
        literals: list[bytes] = []
        for term in dict.fromkeys(keywords):
            words, form = parse_keyword(term)
            folded = normalize.fold(words)
            if not folded:
                continue
            spellings = [(folded, False)]
            spellings += [(normalize.fold(v), True) for v in sorted(latin_variants(folded))]
            seen: set[Stem] = set()
            for spelling, latin in spellings:
                for stem in stems(spelling, form):
                    if stem in seen or not stem.text:
                        continue
                    seen.add(stem)
                    literals.append(normalize.encode(stem.text))
                    self._meta.append(_Literal(term, stem, latin))
        self.scanner: LiteralScanner = make_scanner(literals, prefer=scanner)
        # (literal, tail) -> whether the tail is an allowed ending: words repeat.
        self._tails: dict[tuple[int, bytes], bool] = {}

    def find(self, text: str) -> list[Match]:
        return self.find_many([text])[0]

    # Between the texts of a batch: folds to two spaces, which no literal spans.
    _GAP = "\n\n"

    def find_many(self, texts: Sequence[str]) -> list[list[Match]]:
        """``find`` for many texts at once (as the analysis worker reads pages in
        batches): one fold and one scan for the lot, which saves the per-call costs that
        dominate on short texts. Offsets are into each text."""
        out: list[list[Match]] = [[] for _ in texts]
        if not self._meta or not any(texts):
            return out
        joined = self._GAP.join(texts)
        starts: list[int] = []
        at = 0
        for t in texts:
            starts.append(at)
            at += len(t) + len(self._GAP)
        seen: set[tuple[int, str]] = set()
        for segment in self.scanner.fold_and_scan(joined):
            span = None if segment.one_to_one else segment.span
            for start, end, term in self._verify(segment.folded, segment.hits):
                if span is not None:
                    start, end = span(start, end)
                key = (start, term)
                if key in seen:
                    continue
                seen.add(key)
                i = bisect_right(starts, start) - 1
                out[i].append(Match(start - starts[i], end - starts[i], term))
        for matches in out:
            matches.sort()
        return out

    def _verify(
        self, folded: normalize.Folded, hits: list[tuple[int, int]]
    ) -> list[tuple[int, int, str]]:
        """Inflection checks on raw literal hits (folded coordinates). Every hit starts a
        word already (the scanners look for " " + literal); the rest of the word after
        the literal is its tail."""
        data = folded.data
        word_run = normalize.WORD_RUN.match
        meta = self._meta
        known = self._tails
        if len(known) > 200_000:
            known.clear()  # tails of real text are few, but keep the memory bounded
        out = []
        for pid, end in hits:
            lit = meta[pid]
            e = word_run(data, end).end()
            key = (pid, data[end:e])
            ok = known.get(key)
            if ok is None:
                ok = known[key] = self._tail_ok(lit, key[1])
            if ok:
                out.append((end - len(lit.stem.text), e, lit.term))
        return out

    @staticmethod
    def _tail_ok(lit: _Literal, tail_bytes: bytes) -> bool:
        tail = normalize.decode(normalize.collapse_runs(tail_bytes))
        if lit.latin and tail:
            # A Latin tail read back as Cyrillic; Latin i folds to і, but means и here.
            cyr = to_cyrillic(tail)
            return tail_ok(lit.stem, cyr) or tail_ok(lit.stem, cyr.replace("і", "и"))
        return tail_ok(lit.stem, tail)

    @property
    def literal_count(self) -> int:
        return len(self._meta)


class RegexMatcher(Matcher):
    """Patterns written by analysts, matched case-insensitively on the original text.

    Regexes see the text as written (no look-alike folding): they are for structured
    things — phone numbers, promo codes, wallet addresses — where the exact characters
    matter. Words and phrases belong in keywords, which are normalised.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self._compiled = [(p, re.compile(p, re.IGNORECASE)) for p in patterns]

    def find(self, text: str) -> list[Match]:
        out = []
        for term, regex in self._compiled:
            out.extend(
                Match(m.start(), m.end(), term) for m in regex.finditer(text) if m.end() > m.start()
            )
        return sorted(out, key=lambda m: (m.start, m.end))
