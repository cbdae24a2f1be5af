"""Look-alike domains: does a host imitate egov.kz, kaspi.kz, ...?

Registered-domain aware (the public suffix list bundled with tldextract, never fetched):
``login.kaspi.kz`` is Kaspi's own, ``kaspi.kz.secure-pay.com`` is not. The fuzzers follow
dnstwist's: homoglyph (Cyrillic/Greek/Latin look-alikes, TR39 skeletons), digit-swap
(0/o, 1/l/i, 3/e, ...), omission, insertion, repetition, transposition, hyphenation,
TLD swap, brand-as-subdomain and punycode (an IDN label that decodes to a look-alike).

Permutations are generated once per brand (a few thousand labels) and looked up in a
dict, so checking a host costs a suffix split and a few dictionary lookups.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

from rules.codepage import confusables

_ALPHABET = string.ascii_lowercase + string.digits + "-"
_DIGITS = {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b", "9": "g"}


@cache
def _extractor():  # type: ignore[no-untyped-def]
    import tldextract

    # suffix_list_urls=(): the bundled snapshot only; a monitoring box may be offline.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass(frozen=True)
class Split:
    subdomain: str
    label: str  # the registrable label: "kaspi" in login.kaspi.kz
    suffix: str  # "kz", "com.kz"

    @property
    def registered(self) -> str:
        return f"{self.label}.{self.suffix}" if self.suffix else self.label


def split(host: str) -> Split:
    host = host.strip().strip(".").lower()
    r = _extractor()(host)
    return Split(r.subdomain, r.domain, r.suffix)


def skeleton(label: str) -> str:
    """TR39-style skeleton of a domain label: look-alike characters and digits collapse
    to one Latin prototype (раураl → paypal, kasp1 → kaspl, egоv → egov)."""
    conf = confusables()
    out = []
    for ch in label.lower():
        proto = conf.get(ch, ch)
        proto = "".join(_DIGITS.get(c, c) for c in proto.lower())
        out.append(proto)
    # l, i and 1 are the classic trio; rn reads as m.
    return "".join(out).replace("i", "l").replace("rn", "m")


def _edits(label: str) -> dict[str, str]:
    """Single-edit look-alikes of a label → the fuzzer that makes them."""
    out: dict[str, str] = {}
    n = len(label)
    for i in range(n):
        out.setdefault(label[:i] + label[i + 1 :], "omission")
        out.setdefault(label[:i] + label[i] + label[i:], "repetition")
        if i < n - 1 and label[i] != label[i + 1]:
            out.setdefault(label[:i] + label[i + 1] + label[i] + label[i + 2 :], "transposition")
        if i > 0:
            out.setdefault(label[:i] + "-" + label[i:], "hyphenation")
    for i in range(n + 1):
        for ch in _ALPHABET:
            out.setdefault(label[:i] + ch + label[i:], "insertion")
    out.pop(label, None)
    return {k: v for k, v in out.items() if k and not k.startswith("-") and not k.endswith("-")}


@dataclass(frozen=True)
class Lookalike:
    brand: str  # the imitated domain, e.g. "kaspi.kz"
    fuzzer: str
    host: str

    def as_dict(self) -> dict[str, str]:
        return {"brand": self.brand, "fuzzer": self.fuzzer, "host": self.host}


class LookalikeDetector:
    """Checks hosts against brand domains with the chosen fuzzers."""

    def __init__(self, brands: list[str], fuzzers: list[str]) -> None:
        self.fuzzers = set(fuzzers)
        self.brands = [split(b) for b in brands]
        self._own = {b.registered for b in self.brands}
        self._edits: dict[str, tuple[str, str]] = {}
        self._skeletons: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        for b in self.brands:
            self._labels.setdefault(b.label, b.registered)
            self._skeletons.setdefault(skeleton(b.label), b.registered)
            for variant, fuzzer in _edits(b.label).items():
                self._edits.setdefault(variant, (b.registered, fuzzer))

    def check(self, host: str) -> Lookalike | None:
        if not host:
            return None
        s = split(host)
        if not s.label or s.registered in self._own:
            return None
        label = s.label
        idn = label.startswith("xn--")
        if idn:
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                return None
        found = self._match_label(label, s, idn)
        if found:
            return Lookalike(found[0], found[1], host)
        if "subdomain" in self.fuzzers:
            # kaspi.kz.secure-pay.com, egov-kz.example.org, kaspi-login.top
            parts = [p for p in s.subdomain.split(".") if p] + [s.label]
            for b in self.brands:
                for part in parts:
                    pieces = part.split("-")
                    if b.label in pieces or (part == b.label and s.suffix != b.suffix):
                        if part == s.label and pieces == [b.label]:
                            continue  # same label, other suffix: a TLD swap, below
                        return Lookalike(b.registered, "subdomain", host)
        return None

    def _match_label(self, label: str, s: Split, idn: bool) -> tuple[str, str] | None:
        brand = self._labels.get(label)
        if brand:
            if idn or label != s.label:
                return (brand, "punycode") if "punycode" in self.fuzzers else None
            return (brand, "tld-swap") if "tld-swap" in self.fuzzers else None
        if label in self._edits:
            brand, fuzzer = self._edits[label]
            if fuzzer in self.fuzzers:
                return brand, fuzzer
        skel = skeleton(label)
        brand = self._skeletons.get(skel)
        if brand:
            digits = any(c.isdigit() for c in label)
            fuzzer = "punycode" if idn else ("digit-swap" if digits else "homoglyph")
            if fuzzer in self.fuzzers or (idn and "homoglyph" in self.fuzzers):
                return brand, fuzzer
        return None
