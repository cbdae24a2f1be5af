"""Cyrillic ↔ Latin: the 2021 Kazakh Latin alphabet and everyday Russian transliteration.

Violators write a prohibited word in Latin letters (kazino, zakladka, esirtki) to slip
past Cyrillic keyword lists. Every Cyrillic keyword is therefore also scanned for in its
Latin spellings; the variants are folded like any text (:mod:`rules.normalize`), so the
Latin letters that look like Cyrillic ones fold to those.
"""

from __future__ import annotations

from rules.codepage import kazakh_latin

# Everyday Russian transliteration (passports, chats, domain names): one or more options
# per letter; Kazakh letters get their plain-Latin readings.
RUSSIAN = {
    "а": ("a",), "б": ("b",), "в": ("v", "w"), "г": ("g",), "д": ("d",), "е": ("e",),
    "ж": ("zh", "j"), "з": ("z",), "и": ("i",), "й": ("y", "i", "j"), "к": ("k",),
    "л": ("l",), "м": ("m",), "н": ("n",), "о": ("o",), "п": ("p",), "р": ("r",),
    "с": ("s",), "т": ("t",), "у": ("u",), "ф": ("f",), "х": ("kh", "h", "x"),
    "ц": ("ts", "c"), "ч": ("ch",), "ш": ("sh",), "щ": ("sch", "shch"), "ъ": ("",),
    "ы": ("y", "i"), "ь": ("",), "э": ("e",), "ю": ("yu", "iu"), "я": ("ya", "ia"),
    "ә": ("a",), "ғ": ("g", "gh"), "қ": ("q", "k"), "ң": ("n", "ng"), "ө": ("o",),
    "ұ": ("u",), "ү": ("u",), "һ": ("h",), "і": ("i",),
}  # fmt: skip


def latin_variants(word: str) -> set[str]:
    """Latin spellings of a Cyrillic (folded, lower case) keyword: the official Kazakh
    one and the two commonest everyday ones (first options, then second: people stick to
    one habit per word). Empty if the word has no Cyrillic letters.

    Every spelling is one more literal for the scanner, so the list stays short."""
    if not any("\u0400" <= ch <= "\u04ff" for ch in word):
        return set()
    kz = kazakh_latin()
    out = {"".join(kz.get(ch, ch) for ch in word)}
    options = [RUSSIAN.get(ch, (ch,)) for ch in word]
    for k in range(2):
        out.add("".join(opts[min(k, len(opts) - 1)] for opts in options))
    out.discard(word)
    return out


_TO_CYRILLIC = sorted(
    {
        **{lat: cyr for cyr, lat in kazakh_latin().items() if lat},
        **{opts[0]: cyr for cyr, opts in RUSSIAN.items() if opts[0] and cyr not in "әғқңөұүһі"},
    }.items(),
    key=lambda kv: -len(kv[0]),
)


def to_cyrillic(text: str) -> str:
    """Best-effort Latin → Cyrillic (to read an inflection tail written in Latin)."""
    out = []
    i = 0
    while i < len(text):
        for lat, cyr in _TO_CYRILLIC:
            if text.startswith(lat, i):
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
