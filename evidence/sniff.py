"""The media type of an evidence file, decided by kuzet from its bytes, never by the page.

A page chooses its own ``Content-Type``, and a crafted one (``image/x, text/html``) makes a
browser render the page's body as HTML in the review UI's origin, where its script acts
with the officer's session. So the type a page declared is kept only as data (in the
capture's ``response_headers``) and every stored file is typed here, from an allowlist:

- PNG, JPEG and WebP, recognised by their signatures, may be shown inline as images;
- PDF (by its signature), and WARC, WACZ, the manifest and RFC 3161 timestamp replies (by
  their signature *and* the kind kuzet stored them as) are files to download;
- everything else — HTML, SVG, scripts, text — is ``application/octet-stream``, to download.

The same decision is made when a file is stored and again, from the bytes alone, each time
it is served: a type stored by an older kuzet is never trusted.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

OCTET_STREAM = "application/octet-stream"
# What a download is named after its digest when kuzet does not know its format.
TEXT_SUFFIX, BINARY_SUFFIX = ".txt", ".bin"
_HEAD = 64 * 1024  # bytes looked at to tell text from binary


@dataclass(frozen=True)
class Sniffed:
    """kuzet's own type for a file: ``inline`` only for the images of the allowlist;
    ``suffix`` ends the name it is downloaded under."""

    media_type: str
    suffix: str
    inline: bool = False


def _webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:15] == b"VP8"


_IMAGES: tuple[tuple[Callable[[bytes], bool], Sniffed], ...] = (
    (lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), Sniffed("image/png", ".png", inline=True)),
    (lambda d: d.startswith(b"\xff\xd8\xff"), Sniffed("image/jpeg", ".jpg", inline=True)),
    (_webp, Sniffed("image/webp", ".webp", inline=True)),
)


def _gzip_warc(data: bytes) -> bool:
    if not data.startswith(b"\x1f\x8b"):
        return False
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:_HEAD], 16)
    except zlib.error:
        return False
    return head.startswith(b"WARC/1.")


def _json_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        return False


def _der_sequence(data: bytes) -> bool:
    """One DER SEQUENCE spanning exactly the data (as an RFC 3161 reply is)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    octets = first & 0x7F
    if not 1 <= octets <= 4 or len(data) < 2 + octets:
        return False
    return 2 + octets + int.from_bytes(data[2 : 2 + octets], "big") == len(data)


# Formats known by their signature whatever the kind.
_SIGNED = ((lambda d: d.startswith(b"%PDF-"), Sniffed("application/pdf", ".pdf")),)
# Generic containers (gzip, zip, JSON, DER): believed only for the kind kuzet made them as.
_BY_KIND: dict[str, tuple[Callable[[bytes], bool], Sniffed]] = {
    "warc": (_gzip_warc, Sniffed("application/warc", ".warc.gz")),
    "wacz": (lambda d: d.startswith(b"PK\x03\x04"), Sniffed("application/wacz+zip", ".wacz")),
    "manifest": (_json_object, Sniffed("application/json", ".manifest.json")),
    "timestamp": (_der_sequence, Sniffed("application/timestamp-reply", ".tsr")),
}


def _texty(data: bytes) -> bool:
    head = data[:_HEAD]
    if b"\0" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def sniff(data: bytes, kind: str) -> Sniffed:
    """kuzet's type for ``data`` stored as artifact ``kind``; never raises."""
    for matches, sniffed in _IMAGES + _SIGNED:
        if matches(data):
            return sniffed
    known = _BY_KIND.get(kind)
    if known is not None and known[0](data):
        return known[1]
    return Sniffed(OCTET_STREAM, TEXT_SUFFIX if _texty(data) else BINARY_SUFFIX)


_SAFE_KIND = re.compile(r"[a-z0-9_]{1,50}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def download_name(sha256: str, kind: str, sniffed: Sniffed) -> str:
    """A file name safe in a ``Content-Disposition`` header and on any disk: the digest,
    the kind when kuzet does not know the format, then the suffix of the sniffed type."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    if sniffed.media_type == OCTET_STREAM and _SAFE_KIND.fullmatch(kind):
        return f"{sha256}.{kind}{sniffed.suffix}"
    return f"{sha256}{sniffed.suffix}"
