"""Multi-literal scanners over folded text: Hyperscan when installed, Aho–Corasick otherwise.

Both scan the bytes of :func:`rules.normalize.fold_fast` for every literal at once and
report where each occurrence *ends*. The signs that the 1:1 fold is not enough (invisible
characters, spaced or stretched letters, leet) come from the compiled fold, which finds
them while folding, or else from the scanners themselves; the words around each sign
are folded again the slow way and scanned once more.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from rules import normalize

try:  # pragma: no cover - depends on the platform's wheels
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None


@dataclass(frozen=True)
class Segment:
    """Folded text and the literal hits found in it.

    The text may be the page's, or its slow-fold windows joined into one (so they cost
    one fold and one scan): ``pieces`` then lists ``(start in the joined text, start in
    the page)`` for every window. Hits are ``(literal_index, end)`` in ``folded.data``.
    """

    folded: normalize.Folded
    hits: list[tuple[int, int]]
    pieces: tuple[tuple[int, int], ...] = ((0, 0),)

    @property
    def one_to_one(self) -> bool:
        """Whether folded offsets are the page's offsets already."""
        return self.folded.positions is None and self.pieces == ((0, 0),)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A folded [start, end) as offsets into the page's text."""
        o_start, o_end = self.folded.span(start, end)
        k = bisect_right(self.pieces, (o_start, sys.maxsize)) - 1
        joined, page = self.pieces[k]
        return o_start - joined + page, o_end - joined + page


# Between joined windows: folds to spaces, so no word, phrase or sign spans two windows.
_WINDOW_GAP = "\n\n\n"
# How much of a phrase's next word a stretched word is checked against.
_NEXT = 3


class LiteralScanner(ABC):
    """Finds byte literals at the start of words in folded text.

    Folded text is space-delimited (every sign folds to a space), so a literal is looked
    for as ``b" " + literal`` in ``b" " + data``: occurrences inside words, the bulk of
    raw hits for short stems, are never reported at all.

    ``scan`` returns ``(literal_index, end)`` (``end`` in ``data``) for every word-initial
    occurrence, in any order, and (when ``signs`` is true) the end offsets of the
    slow-fold signs it saw. It must accept any bytes and never raise on them.
    """

    name: str

    def __init__(self, literals: Sequence[bytes]) -> None:
        self.literals = list(literals)
        # How far a match can reach from a sign, in words: the most words in a literal.
        self.reach = max((lit.count(b" ") + 1 for lit in self.literals), default=1)
        # What a stretched word would have to be, collapsed, to take part in a match:
        # a whole non-final word of a phrase followed by the phrase's next word, or start
        # with a literal's last word (a stem).
        self._inner: dict[bytes, set[bytes]] = {}
        self._last: set[bytes] = set()
        for lit in self.literals:
            words = [w for w in lit.split(b" ") if w]
            for w, following in pairwise(words):
                self._inner.setdefault(w, set()).add(following[:_NEXT])
            if words:
                self._last.add(words[-1])
        self._longest = max(map(len, self._last), default=0)
        self._run_cache: dict[tuple[bytes, bytes], bool] = {}

    def run_matters(self, data: bytes, end: int) -> bool:
        """Whether the letter run ending at ``end`` is inside a word that, read with the
        run collapsed, could be (part of) a match. Most stretched words in chat text
        (керемееет) are not: they cost no slow fold."""
        a = data.rfind(b" ", 0, end) + 1
        b = data.find(b" ", end)
        if b == -1:
            word, following = data[a:], b""
        else:
            word = data[a:b]
            c = data.find(b" ", b + 1)
            following = data[b + 1 : len(data) if c == -1 else c]
        key = (word, following[: _NEXT + 8])  # room for a stretched start (тттөлем)
        cache = self._run_cache
        known = cache.get(key)
        if known is None:
            if len(cache) > 100_000:
                cache.clear()  # chat slang is unbounded; keep the memory bounded
            known = cache[key] = self._could_match(*key)
        return known

    def runs_that_matter(self, data: bytes, ends: list[int]) -> list[int]:
        """The letter runs (their ends) that :meth:`run_matters` keeps."""
        matters = self.run_matters
        return [e for e in ends if matters(data, e)]

    def _could_match(self, word: bytes, following: bytes) -> bool:
        if len(word) <= 3 or b"\x02" in word:
            return len(word) > 3  # a run alone (ООО, ааа) has nothing to collapse into
        as_is = word.translate(normalize.LEET_BYTES)
        collapsed = normalize.collapse_runs(as_is)
        successors = self._inner.get(collapsed)
        if successors:
            # The phrase goes on only if the next word starts as its next word does.
            nxt = normalize.collapse_runs(following.translate(normalize.LEET_BYTES))
            if any(nxt[: len(s)] == s for s in successors):
                return True
        # A stem that the run does not touch is found by the fast scan already (the run
        # is then in the ending, which the matcher collapses): only a run inside a stem
        # needs the slow fold.
        last = self._last
        for k in range(1, min(len(collapsed), self._longest) + 1):
            head = collapsed[:k]
            if head in last and head != as_is[:k]:
                return True
        return False

    @abstractmethod
    def scan(
        self, data: bytes, *, signs: bool = True
    ) -> tuple[list[tuple[int, int]], list[int]]: ...

    def fold_and_scan(self, text: str) -> list[Segment]:
        """Fold ``text`` 1:1 and scan it; around every slow-fold sign, fold a window of
        the original text the slow way and scan that too."""
        marked = normalize.fold_marked(text)
        if marked is None:
            data = normalize.fold_fast(text)
            hits, signs = self.scan(data)
        else:  # the compiled fold found the signs already
            data, signs, runs = marked
            hits, _ = self.scan(data, signs=False)
            signs += self.runs_that_matter(data, runs)
        segments = [Segment(normalize.Folded(text, data), hits)]
        windows = self._windows(data, signs)
        if windows:
            texts, datas, pieces = [], [], []
            at = 0
            gap = _WINDOW_GAP.encode()
            for start, end in windows:
                pieces.append((at, start))
                texts.append(text[start:end])
                datas.append(data[start:end])  # the 1:1 fold of a window is a slice
                at += end - start + len(gap)
            joined = _WINDOW_GAP.join(texts)
            folded = normalize.fold_slow(joined, gap.translate(normalize.FOLD_TABLE).join(datas))
            found, _ = self.scan(folded.data, signs=False)
            if found:
                segments.append(Segment(folded, found, tuple(pieces)))
        return segments

    def _windows(self, data: bytes, signs: list[int]) -> list[tuple[int, int]]:
        """Whole-word windows around the signs: the word with the sign and ``reach``
        words each side (letters spelled apart count as one word), merged."""
        windows: list[tuple[int, int]] = []
        space = b" "
        for end in sorted(signs):
            if windows and end <= windows[-1][1]:
                continue  # inside the last window already
            a = b = min(end, len(data))
            for _ in range(self.reach + 1):
                a = max(0, data.rfind(space, 0, max(0, a - 1)) + 1) if a > 0 else 0
            for _ in range(self.reach + 1):
                nxt = data.find(space, b + 1)
                b = len(data) if nxt == -1 else nxt
            # letters spelled apart: widen over the whole run of single letters
            a, b = self._widen_spaced(data, a, b)
            if windows and a <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(b, windows[-1][1]))
            else:
                windows.append((a, b))
        return windows

    @staticmethod
    def _widen_spaced(data: bytes, a: int, b: int) -> tuple[int, int]:
        word = normalize.WORD
        while (
            a >= 2
            and data[a - 1] == 0x20
            and data[a - 2] in word
            and (a == 2 or data[a - 3] not in word)
        ):
            a -= 2
        while (
            b + 2 <= len(data)
            and data[b] == 0x20
            and data[b + 1] in word
            and (b + 2 == len(data) or data[b + 2] not in word)
        ):
            b += 2
        return a, b


# How many letters of a phrase's second word its anchor keeps (see HyperscanScanner).
_ANCHOR_NEXT = 3


def _anchor(literal: bytes) -> bytes:
    """A literal's anchor: itself, or for a phrase, up to ``_ANCHOR_NEXT`` bytes into its
    second word."""
    space = literal.find(b" ")
    if space == -1:
        return literal
    return literal[: space + 1 + _ANCHOR_NEXT]


class HyperscanScanner(LiteralScanner):
    """All literals in one Hyperscan database (literal mode); the slow-fold signs in a
    small regex database of their own, and letter runs by :func:`normalize.letter_run_ends`.
    """

    name = "hyperscan"

    def __init__(self, literals: Sequence[bytes]) -> None:
        super().__init__(literals)
        assert hyperscan is not None
        # Phrases are looked for by an anchor: the phrase up to the first few letters of
        # its second word. Hyperscan filters on a literal's last bytes; a phrase's last
        # bytes are the end of an everyday word, which passes the filter all over a page,
        # while an anchor's include the space between words. Anchors scan 2-3 times
        # faster; each anchor hit (rare: a whole first word and the next word's start)
        # is then checked against its phrases in place.
        anchors: dict[bytes, list[int]] = {}
        for i, lit in enumerate(self.literals):
            anchors.setdefault(_anchor(lit), []).append(i)
        self._anchors = list(anchors)
        self._phrases = [[(i, self.literals[i]) for i in ids] for ids in anchors.values()]
        # Pure literals (Hyperscan's literal compiler: same scan speed, half the build
        # time), in two databases: ASCII ones and the rest. Mixed, Latin literals crowd
        # the filter the Cyrillic ones pass through; apart, the ASCII database skims
        # Cyrillic text, and the two scans cost less than one.
        self._dbs: list[tuple[hyperscan.Database, hyperscan.Scratch, list[int]]] = []
        groups: dict[bool, list[int]] = {}
        for j, anchor in enumerate(self._anchors):
            groups.setdefault(anchor.isascii(), []).append(j)
        for _ascii, ids in sorted(groups.items()):
            db = self._compile([b" " + self._anchors[j] for j in ids], [0] * len(ids), literal=True)
            assert db is not None
            self._dbs.append((db, hyperscan.Scratch(db), ids))
        # The other signs: three small regexes, fast on their own (slow mixed with literals).
        signs = [normalize.SLOW_SIGNS[k] for k in ("invisible", "spaced letters", "leet")]
        self._signs = self._compile(signs, [0] * len(signs))
        self._signs_scratch = hyperscan.Scratch(self._signs)

    @staticmethod
    def _compile(
        expressions: list[bytes], flags: list[int], *, literal: bool = False
    ) -> hyperscan.Database | None:
        if not expressions:
            return None
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=flags,
            literal=literal,
        )
        return db

    def scan(self, data: bytes, *, signs: bool = True) -> tuple[list[tuple[int, int]], list[int]]:
        hits: list[tuple[int, int]] = []
        sign_ends: list[int] = []
        if not data:
            return hits, sign_ends
        spaced = b" " + data
        phrases = self._phrases
        anchors = self._anchors
        startswith = data.startswith
        for db, scratch, ids in self._dbs:

            def on_match(
                pid: int, _start: int, end: int, _flags: int, _ctx: object, ids: list[int] = ids
            ) -> None:
                j = ids[pid]
                start = end - 1 - len(anchors[j])  # less the leading space
                for i, lit in phrases[j]:
                    if startswith(lit, start):
                        hits.append((i, start + len(lit)))

            db.scan(spaced, match_event_handler=on_match, scratch=scratch)
        if signs:

            def on_sign(_pid: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
                sign_ends.append(end)

            self._signs.scan(data, match_event_handler=on_sign, scratch=self._signs_scratch)
            sign_ends += self.runs_that_matter(data, normalize.letter_run_ends(data))
        return hits, sign_ends


class AhoCorasickScanner(LiteralScanner):
    """pyahocorasick over the folded bytes read as Latin-1; signs through Python regexes."""

    name = "aho-corasick"

    def __init__(self, literals: Sequence[bytes]) -> None:
        import ahocorasick

        super().__init__(literals)
        self._automaton: ahocorasick.Automaton | None = None
        if self.literals:
            automaton = ahocorasick.Automaton()
            by_key: dict[str, list[int]] = {}
            for i, lit in enumerate(self.literals):
                by_key.setdefault(" " + lit.decode("latin-1"), []).append(i)
            for key, ids in by_key.items():
                automaton.add_word(key, tuple(ids))
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, data: bytes, *, signs: bool = True) -> tuple[list[tuple[int, int]], list[int]]:
        sign_ends: list[int] = []
        if signs:
            runs = self.runs_that_matter(data, normalize.letter_run_ends(data))
            sign_ends = normalize.sign_ends(data) + runs
        hits: list[tuple[int, int]] = []
        if self._automaton is not None and data:
            for last, ids in self._automaton.iter(" " + data.decode("latin-1")):
                hits.extend((i, last) for i in ids)  # last + 1, less the leading space
        return hits, sign_ends


def make_scanner(literals: Sequence[bytes], prefer: str | None = None) -> LiteralScanner:
    """The fastest scanner available (``prefer`` = "aho-corasick" forces the fallback)."""
    if hyperscan is not None and prefer != AhoCorasickScanner.name:
        return HyperscanScanner(literals)
    return AhoCorasickScanner(literals)
