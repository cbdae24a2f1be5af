"""RFC 3161 trusted timestamps of capture manifests.

When ``KUZET_TSA_URL`` is set, each manifest's SHA-512 is sent to that time-stamping
authority and its signed reply is stored beside the manifest (artifact ``timestamp``).
The reply proves the manifest existed at the TSA's time; it is checked offline against
the TSA's root certificate(s) in ``KUZET_TSA_CA`` (PEM), with no network at all.
"""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

KIND = "timestamp"
MEDIA_TYPE = "application/timestamp-reply"


class TimestampError(RuntimeError):
    """No usable timestamp: the message says why (stored with the capture)."""


def request_timestamp(data: bytes, tsa_url: str, timeout_s: float = 20.0) -> bytes:
    """The TSA's DER reply for ``data``, checked to answer this very request."""
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA512).build()
    http = urllib.request.Request(
        tsa_url,
        data=request.as_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout_s) as resp:  # the configured TSA
            reply = resp.read()
    except OSError as exc:
        raise TimestampError(f"TSA {tsa_url} unreachable: {exc}") from exc
    try:
        parsed = decode_timestamp_response(reply)
    except Exception as exc:
        raise TimestampError(f"TSA {tsa_url} sent no timestamp reply: {exc}") from exc
    if PKIStatus(parsed.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"TSA {tsa_url} refused: status {parsed.status}")
    if parsed.tst_info.nonce != request.nonce:
        raise TimestampError(f"TSA {tsa_url} answered another request (nonce mismatch)")
    return reply


@dataclass(frozen=True)
class Checked:
    ok: bool
    time: datetime | None
    problem: str = ""


def load_roots(path: str | Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def verify_timestamp(reply: bytes, data: bytes, roots: Sequence[x509.Certificate]) -> Checked:
    """Whether ``reply`` is a valid timestamp of exactly ``data`` by a TSA under ``roots``."""
    try:
        parsed = decode_timestamp_response(reply)
    except Exception as exc:
        return Checked(False, None, f"not a timestamp reply ({exc})")
    when = parsed.tst_info.gen_time
    if not roots:
        # Without the TSA's root the signature cannot be checked; what it covers can.
        digest = hashlib.sha512(data).digest()
        if parsed.tst_info.message_imprint.message != digest:
            return Checked(False, when, "it was issued for other content")
        return Checked(True, when, "signature not checked (no KUZET_TSA_CA)")
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(parsed, data)
    except VerificationError as exc:
        return Checked(False, when, str(exc))
    return Checked(True, when)
