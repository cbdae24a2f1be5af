"""Matchers: the pluggable pieces that find evidence for rules in a document's text."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import regex

from rules import normalize
from rules.inflect import Stem, parse_keyword, stems, tail_ok
from rules.scanner import LiteralScanner, make_scanner
from rules.translit import latin_variants, to_cyrillic

logger = logging.getLogger(__name__)


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


# How long one rule regex may run on one scope of one page. Analysts' patterns run on
# text written by the people they look for; a pattern that backtracks catastrophically
# on a crafted text is stopped here instead of hanging the analysis.
REGEX_TIMEOUT_S = 0.5
REGEX_FLAGS = regex.IGNORECASE | regex.VERSION0  # VERSION0: the stdlib re's semantics

_reported: set[str] = set()  # patterns whose time-out was logged (once a process)


def compile_regex(pattern: str) -> regex.Pattern[str]:
    """A rule regex as the engine runs it (and as validation compiles it): the ``regex``
    module, which can stop a match after a time limit, in its stdlib-compatible mode.
    Raises ``regex.error`` if the pattern does not compile."""
    return regex.compile(pattern, REGEX_FLAGS)


class RegexFound(NamedTuple):
    """What the patterns found in one text, and which of them ran out of time there
    (their matches before the limit are kept: each is a real match)."""

    matches: list[Match]
    timed_out: list[str]


class RegexMatcher(Matcher):
    """Patterns written by analysts, matched case-insensitively on the original text.

    Regexes see the text as written (no look-alike folding): they are for structured
    things — phone numbers, promo codes, wallet addresses — where the exact characters
    matter. Words and phrases belong in keywords, which are normalised.

    Each pattern gets ``timeout_s`` per text; :meth:`search` names the ones that ran out
    of it (the first time-out of a pattern in a process is logged).
    """

    def __init__(self, patterns: Sequence[str], *, timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self._compiled = [(p, compile_regex(p)) for p in patterns]
        self.timeout_s = timeout_s

    def find(self, text: str) -> list[Match]:
        return self.search(text).matches

    def search(self, text: str) -> RegexFound:
        out: list[Match] = []
        late: list[str] = []
        for term, pattern in self._compiled:
            try:
                for m in pattern.finditer(text, timeout=self.timeout_s):
                    if m.end() > m.start():
                        out.append(Match(m.start(), m.end(), term))
            except TimeoutError:
                late.append(term)
                if term not in _reported:
                    _reported.add(term)
                    logger.warning(
                        "Rule regex %(pattern)r stopped after %(s)s s on a %(n)s-character "
                        "text; its rules are evaluated without the rest of its matches",
                        {"pattern": term, "s": self.timeout_s, "n": len(text)},
                    )
        return RegexFound(sorted(out, key=lambda m: (m.start, m.end)), late)
