"""Text folding for matching, with offsets mapped back to the original text.

The officer always sees the original text; matching runs on the folded copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Letters Russian writers use interchangeably; fold to one form.
_EXTRA_FOLDS = {"ё": "е"}


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    folded = ch.casefold()
    return "".join(_EXTRA_FOLDS.get(c, c) for c in folded)


def fold(text: str) -> str:
    """Fold a keyword or pattern the same way page text is folded."""
    return "".join(_fold_char(c) for c in text)


@dataclass(frozen=True)
class Folded:
    original: str
    folded: str
    # offsets[i] = index in `original` of folded[i]; None when the mapping is the identity.
    offsets: tuple[int, ...] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded [start, end) back to the original text."""
        if self.offsets is None:
            return start, end
        if start >= len(self.offsets):
            return len(self.original), len(self.original)
        o_start = self.offsets[start]
        o_end = self.offsets[end - 1] + 1 if end > start else o_start
        return o_start, o_end


def fold_text(text: str) -> Folded:
    parts: list[str] = []
    offsets: list[int] = []
    identity = True
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        parts.append(f)
        if len(f) != 1:
            identity = False
        offsets.extend([i] * len(f))
    return Folded(text, "".join(parts), None if identity else tuple(offsets))
