"""The code page text is folded into, and how each character folds.

Every character of a page folds to one byte of a private single-byte code page: Cyrillic
incl. Kazakh, ASCII, the letters of the 2021 Kazakh Latin alphabet and common
punctuation, with the commonest characters from outside those ranges in the slots of
control characters page text never holds. :data:`FOLD_TABLE` folds a code-page byte (case,
ё/е, look-alikes, signs to spaces); :func:`fold_outside` brings any other character into
the code page first (NFKC, TR39 confusables). :mod:`rules.normalize` folds whole texts
with these.
"""

from __future__ import annotations

import codecs
import json
import unicodedata
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

INVISIBLE = 0x02  # deleted by the slow path

_CYRILLIC = [chr(c) for c in range(0x0410, 0x0450)] + ["Ё", "ё"]
_KAZAKH = list("ӘәҒғҚқҢңӨөҰұҮүҺһІі")
_KAZAKH_LATIN = list("ÄäĞğıİÑñÖöŞşŪūÜü")
_PUNCT = list("\u00a0\u2010\u2011\u2012\u2013\u2014\u2015«»“”„‘’…№•·₸€°×§©®™\ufffd\u0301")

# Kazakh Latin (2021) letters that stand for exactly one Cyrillic letter.
_KAZAKH_LATIN_FOLD = {
    "ä": "ә", "ğ": "ғ", "ı": "і", "ñ": "ң", "ö": "ө", "ş": "ш", "ū": "ұ", "ü": "ү",
}  # fmt: skip
# Digits and signs used for letters, applied only inside words that also have letters.
# (By shape: 4 is а here, as in к4зино, not the ч of chat slang.)
LEET = {"0": "о", "3": "з", "4": "а", "6": "б", "1": "і", "@": "а", "$": "с"}
SEPARATORS = " "  # after folding, every separator (. _ * · | / ...) is a space


# Frequent characters outside those ranges get the slots of control characters that
# page text never holds, so they cost no call of the codec's error handler: the Latin
# schwa Kazakh is often typed with, invisible format characters and blank fillers, and
# the commonest emoji of the Basic Multilingual Plane (the codec's fast map holds no
# others). A displaced control character still folds to a space.
_FREQUENT = list("əƏ\ufe0f\u200d\u00ad\u200c\u2060\ufeff\u2800\u3164❤✅❗⚡➡✔✨⭐♥☺❌▶☝✌")
_FREE_SLOTS = [*range(0x03, 0x09), *range(0x0E, 0x20)]


def _code_page() -> str:
    chars = [chr(i) for i in range(128)]
    chars[INVISIBLE] = "\u200b"
    assert len(_FREQUENT) == len(_FREE_SLOTS)
    for slot, ch in zip(_FREE_SLOTS, _FREQUENT, strict=True):
        chars[slot] = ch
    high = _CYRILLIC + _KAZAKH + _KAZAKH_LATIN + _PUNCT
    assert len(high) == 128 and len(set(high)) == 128, len(high)
    return "".join(chars + high)


CODE_PAGE = _code_page()
ENCODING_MAP = codecs.charmap_build(CODE_PAGE)
assert type(ENCODING_MAP).__name__ == "EncodingMap"  # not the slow dict fallback
BYTE = {ch: i for i, ch in enumerate(CODE_PAGE)}


@cache
def confusables() -> dict[str, str]:
    """TR39 confusables: source character → prototype string."""
    out: dict[str, str] = {}
    with (DATA / "confusables.txt").open(encoding="utf-8-sig") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            src, dst, *_ = (p.strip() for p in line.split(";"))
            s = "".join(chr(int(x, 16)) for x in src.split())
            if len(s) == 1:
                out[s] = "".join(chr(int(x, 16)) for x in dst.split())
    return out


@cache
def kazakh_latin() -> dict[str, str]:
    """The 2021 Kazakh Latin alphabet, Cyrillic letter → Latin (lower case)."""
    table = json.loads((DATA / "kazakh_latin_2021.json").read_text(encoding="utf-8"))
    return {k: v for k, v in table["kaz_Cyrl_to_Latn"].items() if k.islower()}


@cache
def _by_prototype() -> dict[str, str]:
    """TR39 prototype → the Cyrillic letter (lower case) that has it."""
    conf = confusables()
    by_proto: dict[str, str] = {}
    for ch in _CYRILLIC + _KAZAKH:
        by_proto.setdefault(conf.get(ch, ch), ch.lower())
    return by_proto


def _lookalikes() -> dict[str, str]:
    """ASCII letters that look like a Cyrillic letter → that letter (lower case)."""
    conf = confusables()
    out: dict[str, str] = {}
    for ch in CODE_PAGE:
        if ch.isascii() and ch.isalpha():
            target = _by_prototype().get(conf.get(ch, ch))
            if target:
                out[ch] = target
    return out


def _plain(ch: str) -> bool:
    """A code-page character that folds by itself (not one of the frequent extras)."""
    return ch in BYTE and ch not in _FREQUENT


def fold_outside(ch: str) -> str:
    """Fold a character outside the code page to one inside it."""
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Mn", "Me"):
        return "\u200b"
    if ch.isspace():
        return " "
    nfkc = unicodedata.normalize("NFKC", ch)
    if len(nfkc) == 1 and _plain(nfkc):
        return nfkc  # fullwidth and mathematical letters, ligature-free forms
    conf = confusables()
    for cand in (ch, nfkc, ch.lower()):
        cyrillic = _by_prototype().get(conf.get(cand, cand))
        if cyrillic:
            return cyrillic  # Greek and other look-alikes of Cyrillic letters
    for cand in (nfkc, ch.lower(), conf.get(ch, "")):
        if len(cand) == 1 and _plain(cand):
            return cand
    return "\x01"


def _fold_char(ch: str) -> str:
    """How one code-page character folds (to one code-page character)."""
    if ch in _FREQUENT:
        return _fold_char(fold_outside(ch))  # folded as if it had stayed outside
    if ch == "\u200b" or ch == "\u0301":
        return "\u200b"
    if ch.isspace() or ch in "-\u2010\u2011\u2012\u2013\u2014\u2015":
        return " "
    if ch.lower() in _KAZAKH_LATIN_FOLD:
        return _KAZAKH_LATIN_FOLD[ch.lower()]
    if ch == "İ":
        return "и"
    look = _LOOKALIKES.get(ch)
    if look:
        return look
    low = ch.lower()
    if low in _LOOKALIKES:
        return _LOOKALIKES[low]
    if low == "ё":
        return "е"
    if not ch.isalnum() and ch not in LEET:
        # Every other sign reads as a space: words are then always space-delimited, so the
        # scanner can look for " stem" and never wade through matches inside words.
        return " "
    return low if len(low) == 1 and low in BYTE else ch


_LOOKALIKES = _lookalikes()
FOLD_TABLE = bytes(BYTE[_fold_char(ch)] for ch in CODE_PAGE)
# Bytes that are part of a word once folded: letters and digits.
WORD = frozenset(
    i for i, ch in enumerate(CODE_PAGE) if FOLD_TABLE[i] == i and ch.isalnum() and ch != "\u200b"
)
LETTERS = frozenset(i for i in WORD if CODE_PAGE[i].isalpha())
LEET_BYTES = bytes(BYTE[LEET[ch]] if ch in LEET else i for i, ch in enumerate(CODE_PAGE))
