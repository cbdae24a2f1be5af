"""Text folding for matching, with offsets mapped back to the original text.

Folding: Unicode case folding, ё → е, and every run of whitespace → one space. The officer
always sees the original text; matching runs on the folded copy, and every hit is mapped
back through :meth:`Folded.span`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

# Letters writers use interchangeably; fold to one form. (str.replace, not str.translate:
# translate walks a dict per character and dominated folding on long pages.)
_SAME_LETTERS = (("ё", "е"),)


def _unify(text: str) -> str:
    for a, b in _SAME_LETTERS:
        text = text.replace(a, b)
    return text


_WS_RUN = re.compile(r"\s+")
# Only runs that are not already a single plain space need rewriting.
_COLLAPSE = re.compile(r"\s{2,}|[^\S ]")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return _unify(ch.casefold())


def fold(text: str) -> str:
    """Fold a keyword or pattern the same way page text is folded."""
    return _WS_RUN.sub(" ", _unify(text.casefold()))


@dataclass(frozen=True)
class Folded:
    original: str
    folded: str
    # Piecewise-linear map: folded[seg_f[k]:] starts at original[seg_o[k]:], one char each.
    # None means the identity map. ``exact`` holds a per-character map instead, used in the
    # rare case where case folding changes length (ß → ss).
    seg_f: tuple[int, ...] | None = None
    seg_o: tuple[int, ...] | None = None
    exact: tuple[int, ...] | None = None

    def _pos(self, i: int) -> int:
        if self.exact is not None:
            return self.exact[i] if i < len(self.exact) else len(self.original)
        if self.seg_f is None or self.seg_o is None:
            return i
        k = bisect_right(self.seg_f, i) - 1
        return self.seg_o[k] + (i - self.seg_f[k])

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded [start, end) back to the original text."""
        if end <= start:
            o = self._pos(start)
            return o, o
        return self._pos(start), self._pos(end - 1) + 1


def fold_text(text: str) -> Folded:
    folded = _unify(text.casefold())
    if len(folded) != len(text):
        return _fold_slow(text)
    if not _COLLAPSE.search(folded):
        return Folded(text, folded)
    # Collapse whitespace runs to one space, remembering where each piece came from.
    parts: list[str] = []
    seg_f: list[int] = [0]
    seg_o: list[int] = [0]
    pos_f = 0
    last = 0
    for m in _COLLAPSE.finditer(folded):
        s, e = m.span()
        parts.append(folded[last:s])
        pos_f += s - last
        parts.append(" ")
        # the single space maps to the first whitespace char; the text after it to `e`
        seg_f.append(pos_f)
        seg_o.append(s)
        pos_f += 1
        seg_f.append(pos_f)
        seg_o.append(e)
        last = e
    parts.append(folded[last:])
    return Folded(text, "".join(parts), tuple(seg_f), tuple(seg_o))


def _fold_slow(text: str) -> Folded:
    parts: list[str] = []
    exact: list[int] = []
    prev_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if prev_space:
                continue
            prev_space = True
            parts.append(" ")
            exact.append(i)
            continue
        prev_space = False
        f = _fold_char(ch)
        parts.append(f)
        exact.extend([i] * len(f))
    return Folded(text, "".join(parts), exact=tuple(exact))
