"""Decode page bytes to text, trusting declarations only when the text bears them out.

Order: a BOM wins; bytes that are valid UTF-8 (with non-ASCII) are UTF-8 whatever the page
claims; otherwise the declared charset (HTTP header, then ``<meta>``/XML prolog) competes
with the common Cyrillic single-byte encodings, scored on how much the result looks like
Kazakh/Russian text. A declaration that produces gibberish loses: pages lie.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, read_bom

# Most frequent Russian letters (and the Kazakh-specific ones), lower case.
_COMMON = frozenset("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфёәғқңөұүһі")
CANDIDATES = ("windows-1251", "koi8-r", "cp866", "iso-8859-5", "mac-cyrillic")


def _norm(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def _score(text: str) -> float:
    """Share of non-ASCII characters that read as real Kazakh/Russian letters (0 … 1).

    A character counts when it is a common letter and its case is plausible: lower case,
    or upper case not straight after a lower-case letter. Wrong decodings produce symbols,
    rare letters, or "нОВОСТИ"-style case flips. -1 when there is no non-ASCII text.
    """
    total = good = 0
    prev = " "
    for c in text[:20000]:
        if ord(c) > 127:
            total += 1
            if c.lower() in _COMMON and (c.islower() or not prev.islower()):
                good += 1
        prev = c
    return good / total if total else -1.0


def decode(body: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding used). ``declared`` is the charset from the HTTP header, if any."""
    bom_enc, bom = read_bom(body)
    if bom_enc:
        return body[len(bom) :].decode(bom_enc, errors="replace"), _norm(bom_enc) or bom_enc
    try:
        text = body.decode("utf-8")
        if not body.isascii() or _norm(declared) in (None, "utf-8"):
            return text, "utf-8"
    except UnicodeDecodeError:
        pass
    claims: list[str] = []
    for name in (declared, html_body_declared_encoding(body)):
        norm = _norm(name)
        if norm and norm not in claims and norm != "utf-8":
            claims.append(norm)
    if body.isascii():
        return body.decode(claims[0] if claims else "ascii", errors="replace"), claims[
            0
        ] if claims else "ascii"

    scored: list[tuple[float, int, str, str]] = []
    for rank, enc in enumerate(
        [*claims, *(c for c in (_norm(x) for x in CANDIDATES) if c and c not in claims)]
    ):
        try:
            text = body.decode(enc, errors="replace")
        except LookupError:
            continue
        scored.append((_score(text), -rank, enc, text))
    best = max(scored)
    if claims:
        first = next(s for s in scored if s[2] == claims[0])
        # Keep a declaration that reads as plausibly as the best guess (or has no Cyrillic).
        if first[0] < 0 or first[0] >= best[0] - 0.02:
            return first[3], first[2]
    return best[3], best[2]
