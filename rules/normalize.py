"""Text folded for matching, at C speed, with offsets that map back to the original.

Folding makes the ways people disguise a word read the same, on pages and in rules alike:

- case, ё/е, NFKC compatibility forms (ｆｕｌｌｗｉｄｔｈ, 𝐛𝐨𝐥𝐝);
- look-alike letters: Latin and Greek letters that look like Cyrillic ones (Unicode TR39
  confusables, ``rules/data/confusables.txt``) and the letters of the 2021 Kazakh Latin
  alphabet that stand for one Cyrillic letter (ä → ә, ş → ш, ...);
- digits and signs written for letters inside a word (к4з1н0, к@зино);
- invisible characters (soft hyphen, zero-width space/joiners, stress marks);
- letters spelled apart (к а з и н о, к.а.з.и.н.о, к-а-з-и-н-о) and stretched inside a
  word (казиииино: a run of three or more of one letter reads as one);
- every sign (punctuation, dashes, symbols) reads as a space, and in the slow fold a run
  of spaces as one.

How it stays fast: every character folds to one byte of a private single-byte code page
(:mod:`rules.codepage`), so byte offsets *are* character offsets. The compiled fold
(``rules/_fold.c``) does it with one table lookup per character and finds the slow-fold
signs in the same pass; without it, text is encoded with the code page and folded with
one 256-entry table, both in C but four times slower. Characters outside the code page
are folded once each (NFKC, case, confusables) and remembered. The folds that change
length, and leet, are :func:`fold_slow`: the scanners run it only on windows around the
places where they saw a sign of them (:data:`SLOW_SIGNS`), and only those windows pay for
a position map (:class:`Folded`).
"""

from __future__ import annotations

import codecs
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy

from rules.codepage import (
    BYTE,
    CODE_PAGE,
    ENCODING_MAP,
    FOLD_TABLE,
    INVISIBLE,
    LEET,
    LEET_BYTES,
    LETTERS,
    SEPARATORS,
    WORD,
    fold_outside,
)


class _OutsideTable(dict[int, str]):
    """``str.translate`` table that folds each new character once, then looks it up in C."""

    def __missing__(self, cp: int) -> str:
        folded = self[cp] = fold_outside(chr(cp))
        return folded


_OUTSIDE = _OutsideTable()


def _error_handler(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeEncodeError)
    return exc.object[exc.start : exc.end].translate(_OUTSIDE), exc.end


codecs.register_error("kuzet.fold", _error_handler)


def encode(text: str) -> bytes:
    """The text in the code page, one byte per character (not folded yet)."""
    return codecs.charmap_encode(text, "kuzet.fold", ENCODING_MAP)[0]


def fold_fast(text: str) -> bytes:
    """The 1:1 fold: one byte per character of ``text``."""
    if _compiled is not None:
        return _compiled.fold(text, _TABLE, _CLASSES, _UNSET, _resolve, False)
    return encode(text).translate(FOLD_TABLE)


def fold_marked(text: str) -> tuple[bytes, list[int], list[int]] | None:
    """The 1:1 fold, the end offsets of the :data:`SLOW_SIGNS` in it (every end each
    pattern matches at, as Hyperscan reports them) and :func:`letter_run_ends`, all in one
    pass of the compiled fold; None without it (the scanners then search the folded
    bytes themselves)."""
    if _compiled is None:
        return None
    return _compiled.fold(text, _TABLE, _CLASSES, _UNSET, _resolve, True)


def decode(data: bytes) -> str:
    return data.decode("latin-1").translate(_DECODE)


_DECODE = {i: ch for i, ch in enumerate(CODE_PAGE) if i != ord(ch)}


def _class(byte_values: frozenset[int]) -> bytes:
    return b"".join(b"\\x%02x" % b for b in sorted(byte_values))


_W = _class(WORD)
WORD_RUN = re.compile(b"[" + _W + b"]*")  # the rest of a word, from an offset
_L = _class(LETTERS)
_S = _class(frozenset(BYTE[c] for c in SEPARATORS))
_DIGITISH = _class(frozenset(BYTE[c] for c in LEET))
# Signs that the 1:1 fold is not enough (letter runs aside: :func:`letter_run_ends`).
# Each is narrow on purpose (a sign costs the slow fold of the text around it): invisibles
# only next to a letter, digits only inside a word or ending one.
# Whitespace runs are not a sign: stored page text is single-spaced already, and the
# runs left (around dashes) are where a phrase should not match across anyway.
SLOW_SIGNS: dict[str, bytes] = {
    "invisible": b"[" + _W + b"]\\x02|\\x02[" + _W + b"]",
    "spaced letters": b"(?:^|[^"
    + _W
    + b"])(?:["
    + _L
    + b"]["
    + _S
    + b"]){3}["
    + _L
    + b"](?:[^"
    + _W
    + b"]|$)",
    "leet": b"["
    + _L
    + b"]["
    + _DIGITISH
    + b"]["
    + _L
    + b"]|["
    + _L
    + b"]{2}["
    + _DIGITISH
    + b"](?:[^"
    + _W
    + b"]|$)",
}
_SLOW_RES = {name: re.compile(pat) for name, pat in SLOW_SIGNS.items()}
# Every byte as its class: L letter, D digit standing for a letter, S separator.
_SHAPE = bytes(
    ord("L") if i in LETTERS
    else ord("D") if CODE_PAGE[i] in LEET
    else ord("S") if CODE_PAGE[i] in SEPARATORS
    else (i if i == INVISIBLE else ord("."))
    for i in range(256)
)  # fmt: skip
_IS_LETTER = numpy.zeros(256, dtype=bool)
_IS_LETTER[sorted(LETTERS)] = True
# Invisible next to a letter; a leet digit inside or ending a word; spaced letters.
SHAPE_SIGNS = (b"L\x02", b"\x02L", b"LDL", b"LLD", b"LSLSLSL")

# The compiled fold (rules/_fold.c, built at install where a C compiler is at hand):
# folding with the codec costs as much as the literal scan, and finding the signs in the
# folded bytes as much again; in C, one pass does both. Same results (tested).
_FOLD_VERSION = 1  # of rules/_fold.c that this module speaks to
try:
    from rules import _fold as _compiled
except ImportError:  # pragma: no cover - installed without a compiler
    _compiled = None
if _compiled is not None and getattr(_compiled, "VERSION", None) != _FOLD_VERSION:
    warnings.warn(
        f"rules/_fold.c was built from another version ({getattr(_compiled, 'VERSION', None)},"
        f" not {_FOLD_VERSION}): folding in pure Python; rerun ./scripts/setup",
        RuntimeWarning,
        stacklevel=1,
    )
    _compiled = None

# Folded byte of every code point of planes 0 and 1; the rest of the code points (and
# those not met yet, marked _UNSET: a byte no character folds to) go through _resolve
# once, which fills their slot.
_UNSET = min(set(range(256)) - set(FOLD_TABLE))
_TABLE = bytearray([_UNSET]) * 0x20000
for _i, _ch in enumerate(CODE_PAGE):
    _TABLE[ord(_ch)] = FOLD_TABLE[_i]


@lru_cache(maxsize=1 << 16)  # for code points beyond the table, which has no slot for them
def _resolve(cp: int) -> int:
    """The folded byte of a character outside the code page (as the codec folds it)."""
    return FOLD_TABLE[BYTE[fold_outside(chr(cp))]]


# What the compiled fold needs to know of each folded byte to find the signs.
_CLASSES = bytes(
    (1 if i in WORD else 0)
    | (2 if i in LETTERS else 0)
    | (4 if CODE_PAGE[i] in LEET else 0)
    | (8 if CODE_PAGE[i] in SEPARATORS else 0)
    | (16 if i == INVISIBLE else 0)
    for i in range(256)
)

_RE_INVISIBLE = re.compile(b"\\x02+")
_RE_SPACED = re.compile(
    b"(?<![" + _W + b"])[" + _L + b"](?:[" + _S + b"][" + _L + b"]){3,}(?![" + _W + b"])"
)
_ANY_RUN = re.compile(rb"(.)\1{2,}")
_RE_SPACES = re.compile(b"\\x20{2,}")


def _inner_runs(data: bytes) -> list[tuple[int, int]]:
    """Runs of one letter inside a word, less their first letter. "ООО" or "ааа!" alone
    are left as written (and so are keywords such as "xxx")."""
    out = []
    n = len(data)
    letters = LETTERS
    # Any run first (a plain back-reference, fast); the letter tests on the few found.
    for m in _ANY_RUN.finditer(data):
        s, e = m.span()
        if data[s] in letters and (
            (s > 0 and data[s - 1] in letters) or (e < n and data[e] in letters)
        ):
            out.append((s + 1, e))
    return out


def _delete(
    data: bytes, index: list[int], ranges: list[tuple[int, int]]
) -> tuple[bytes, list[int]]:
    """Drop sorted, non-overlapping [start, end) ranges from data and its index."""
    parts = []
    kept: list[int] = []
    last = 0
    for s, e in ranges:
        parts.append(data[last:s])
        kept += index[last:s]
        last = e
    parts.append(data[last:])
    kept += index[last:]
    return b"".join(parts), kept


@dataclass(frozen=True)
class Folded:
    """Folded text and the way back to the original.

    ``positions`` gives, for every folded byte, its offset in the original; None means
    the fold was 1:1 (the common case) and offsets are the same.
    """

    original: str
    data: bytes
    positions: list[int] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded [start, end) back to the original text."""
        pos = self.positions
        if pos is None:
            return start, end
        if end <= start:
            o = pos[start] if start < len(pos) else len(self.original)
            return o, o
        return pos[start], pos[end - 1] + 1

    @property
    def text(self) -> str:
        return decode(self.data)


def fold_slow(text: str, data: bytes | None = None) -> Folded:
    """The full fold, with a position map (for documents that show a slow sign)."""
    if data is None:
        data = fold_fast(text)
    positions = list(range(len(data)))

    def delete(ranges: list[tuple[int, int]]) -> None:
        nonlocal data, positions
        if ranges:
            data, positions = _delete(data, positions, ranges)

    if b"\x02" in data:
        delete([m.span() for m in _RE_INVISIBLE.finditer(data)])
    if _SLOW_RES["leet"].search(data):
        buf = bytearray(data)  # same length: only the bytes change
        for m in _SLOW_RES["leet"].finditer(data):
            s, e = m.span()
            while s > 0 and data[s - 1] in WORD:
                s -= 1
            while e < len(data) and data[e] in WORD:
                e += 1
            buf[s:e] = data[s:e].translate(LEET_BYTES)
        data = bytes(buf)
    # Letters spelled apart: drop the separators (every other byte of the match).
    delete(
        [(i, i + 1) for m in _RE_SPACED.finditer(data) for i in range(m.start() + 1, m.end(), 2)]
    )
    delete(_inner_runs(data))
    delete([(m.start() + 1, m.end()) for m in _RE_SPACES.finditer(data)])
    return Folded(text, data, positions)


def collapse_runs(data: bytes) -> bytes:
    """Runs of three or more of one byte read as one (stretched letters: керемееет)."""
    return _ANY_RUN.sub(rb"\1", data) if len(data) >= 3 else data


def sign_ends(data: bytes) -> list[int]:
    """Where a 1:1-folded text shows a slow-fold sign other than a letter run (see
    :func:`letter_run_ends`): approximate end offsets, found at C speed by mapping every
    byte to its class and searching the class string. (The Aho–Corasick fallback's way;
    Hyperscan finds them with :data:`SLOW_SIGNS`.)"""
    shape = shape_of(data)
    ends: list[int] = []
    for needle in SHAPE_SIGNS:
        i = shape.find(needle)
        while i != -1:
            ends.append(i + len(needle))
            i = shape.find(needle, i + 1)
    return ends


def shape_of(data: bytes) -> bytes:
    """Every byte of folded text as its class (see :data:`SHAPE_SIGNS`)."""
    return data.translate(_SHAPE)


def letter_run_ends(data: bytes) -> list[int]:
    """Where each run of three or more of one letter ends (its third letter's end).

    Vectorised: chat text is full of stretched words, and a match callback or a
    back-referencing regex per run costs far more than three array passes."""
    if len(data) < 3:
        return []
    a = numpy.frombuffer(data, dtype=numpy.uint8)
    same = a[1:] == a[:-1]
    starts = numpy.flatnonzero(same[1:] & same[:-1])  # a[i] == a[i+1] == a[i+2]
    if not len(starts):
        return []
    starts = starts[_IS_LETTER[a[starts]]]
    if len(starts) > 1:  # one per run: drop starts right after another start
        starts = starts[numpy.concatenate(([True], numpy.diff(starts) != 1))]
    return (starts + 3).tolist()


def needs_slow(data: bytes) -> bool:
    """Whether a 1:1-folded text shows any sign that needs :func:`fold_slow`."""
    return bool(sign_ends(data)) or bool(letter_run_ends(data))


def fold_text(text: str) -> Folded:
    """Fold a page text (reference path: decides fast or slow by itself)."""
    data = fold_fast(text)
    if needs_slow(data):
        return fold_slow(text, data)
    return Folded(text, data)


def fold_term(term: str) -> bytes:
    """Fold a rule term exactly as page text is folded."""
    return fold_slow(term.strip()).data.strip(b" ")


def fold(term: str) -> str:
    """A rule term folded, as readable text (for messages and tests)."""
    return decode(fold_term(term))
