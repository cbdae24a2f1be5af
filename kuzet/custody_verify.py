"""Checking a custody log: its entries, checkpoints and access log, as plain records.

The records come from the database (:func:`kuzet.audit.verify_chain`) or from an export
(``kuzet evidence export-custody``); only the public keys are needed. Each finding is a
:class:`kuzet.custody.Problem`, in chain order, so the first one names the first bad entry.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kuzet.custody import GENESIS, Problem, canonical, digest

ENTRY_FIELDS = ("at", "actor", "user_id", "action", "object_type", "object_id", "details")
ACCESS_FIELDS = ("seq", *ENTRY_FIELDS)
# (reply, signed body) -> why the RFC 3161 timestamp does not hold, or None.
TimestampCheck = Callable[[bytes, bytes], str | None]


def entry_payload(rec: dict[str, Any]) -> dict[str, Any]:
    """What an entry's hash covers. Signed entries also cover their number and key id;
    legacy (unsigned) entries keep the payload they were hashed with."""
    payload = {k: rec[k] for k in ENTRY_FIELDS}
    if rec.get("key_id") is not None:
        payload |= {"seq": rec["seq"], "key_id": rec["key_id"]}
    return payload


def entry_hash(rec: dict[str, Any]) -> str:
    return digest(rec["prev_hash"], entry_payload(rec))


def checkpoint_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def access_digest(prev: str, row: dict[str, Any]) -> str:
    return digest(prev, {k: row[k] for k in ACCESS_FIELDS})


def _signature_problem(
    keys: dict[str, Ed25519PublicKey], key_id: str, signature: str, data: bytes
) -> str | None:
    """None when ``signature`` over ``data`` holds; else "unknown_key" or "bad_signature"."""
    key = keys.get(key_id)
    if key is None:
        return "unknown_key"
    try:
        key.verify(bytes.fromhex(signature), data)
    except (InvalidSignature, ValueError):
        return "bad_signature"
    return None


@dataclass
class Records:
    """A custody log as records: entries and access rows in order, checkpoints from the
    database and the lines of the checkpoints file, and the chain head (if known)."""

    entries: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    file_lines: list[dict[str, Any]]
    access: list[dict[str, Any]] = field(default_factory=list)
    head: dict[str, Any] | None = None


def verify_records(
    rec: Records,
    keys: dict[str, Ed25519PublicKey],
    timestamp_check: TimestampCheck | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    cps = _checkpoints(rec, keys, problems, timestamp_check)
    if cps:
        legacy = cps[0]["legacy_count"] if cps[0]["number"] == 1 else 0
    elif rec.head is not None:
        legacy = rec.head["legacy_count"]  # never sealed: nothing was signed yet
    else:
        legacy = 0
    problems += _entries(rec.entries, keys, legacy)
    problems += _against_checkpoints(rec.entries, cps, rec.head)
    problems += _access(rec.access, cps)
    return problems


def _entries(
    entries: Sequence[dict[str, Any]], keys: dict[str, Ed25519PublicKey], legacy: int
) -> list[Problem]:
    problems: list[Problem] = []
    prev = GENESIS
    for e in entries:
        where = {"id": e["id"], "seq": e["seq"]}
        if e["prev_hash"] != prev:
            problems.append(Problem("custody.link_broken", **where))
        elif entry_hash(e) != e["hash"]:
            problems.append(Problem("custody.altered", **where))
        elif e.get("key_id") is None:
            if e["seq"] > legacy:
                problems.append(Problem("custody.unsigned", **where))
        else:
            kind = _signature_problem(keys, e["key_id"], e["signature"] or "", e["hash"].encode())
            if kind:
                problems.append(Problem(f"custody.{kind}", key_id=e["key_id"], **where))
        prev = e["hash"]
    return problems


def _checkpoints(
    rec: Records,
    keys: dict[str, Ed25519PublicKey],
    problems: list[Problem],
    timestamp_check: TimestampCheck | None,
) -> list[dict[str, Any]]:
    """The checkpoint bodies whose signatures hold, by number; the rest become problems."""
    in_db = {c["checkpoint"]["number"]: c for c in rec.checkpoints}
    in_file = {ln["checkpoint"]["number"]: ln for ln in rec.file_lines if "checkpoint" in ln}
    anchors = {ln["anchor"]: ln["timestamp"] for ln in rec.file_lines if "anchor" in ln}
    valid: list[dict[str, Any]] = []
    prev_digest = GENESIS
    for n in sorted(in_db.keys() | in_file.keys()):
        db_cp, file_cp = in_db.get(n), in_file.get(n)
        if db_cp is None:
            problems.append(Problem("custody.cp_missing_db", n=n))
        elif file_cp is None:
            problems.append(Problem("custody.cp_missing_file", n=n))
        elif (db_cp["checkpoint"], db_cp["signature"]) != (
            file_cp["checkpoint"],
            file_cp["signature"],
        ):
            problems.append(Problem("custody.cp_differs", n=n))
        cp = file_cp or db_cp
        assert cp is not None
        body = cp["checkpoint"]
        kind = _signature_problem(keys, body["key_id"], cp["signature"], canonical(body))
        if kind:
            problems.append(Problem(f"custody.cp_{kind}", n=n, key_id=body["key_id"]))
            continue
        if body["prev_digest"] != prev_digest or (not valid and n != 1):
            problems.append(Problem("custody.cp_chain", n=n))
        prev_digest = checkpoint_digest(body)
        valid.append(body)
        stamp = (db_cp or {}).get("timestamp") or anchors.get(n)
        if stamp and timestamp_check is not None:
            why = timestamp_check(base64.b64decode(stamp), canonical(body))
            if why:
                problems.append(Problem("custody.cp_timestamp", n=n, problem=why))
    return valid


def _against_checkpoints(
    entries: Sequence[dict[str, Any]],
    cps: Sequence[dict[str, Any]],
    head: dict[str, Any] | None,
) -> list[Problem]:
    """Entries cut off the end (or replaced) since a checkpoint, and a head that
    disagrees with the chain."""
    problems: list[Problem] = []
    by_seq = {e["seq"]: e for e in entries}
    found = max(by_seq, default=0)
    truncated: Problem | None = None
    for cp in cps:
        if cp["count"] == 0:
            continue
        entry = by_seq.get(cp["count"])
        if entry is None and cp["count"] > found:
            truncated = Problem(
                "custody.truncated",
                n=cp["number"],
                count=cp["count"],
                hash=cp["hash"],
                found=found,
            )
        elif entry is None or entry["hash"] != cp["hash"]:
            problems.append(Problem("custody.cp_entry", n=cp["number"], seq=cp["count"]))
    if truncated is not None:
        problems.append(truncated)
    if head is not None:
        last = by_seq[found]["hash"] if found else GENESIS
        if (head["count"], head["last_hash"]) != (found, last):
            problems.append(
                Problem("custody.head", count=head["count"], hash=head["last_hash"], found=found)
            )
    return problems


def _access(rows: Sequence[dict[str, Any]], cps: Sequence[dict[str, Any]]) -> list[Problem]:
    """Access rows numbered without gaps, and matching each checkpoint's digest."""
    problems: list[Problem] = []
    expected = 1
    for row in rows:
        if row["seq"] != expected:
            problems.append(Problem("custody.access_gap", seq=expected))
        expected = row["seq"] + 1
    found = expected - 1
    running, i = GENESIS, 0
    for cp in cps:
        while i < len(rows) and rows[i]["seq"] <= cp["access_count"]:
            running = access_digest(running, rows[i])
            i += 1
        if found < cp["access_count"]:
            problems.append(
                Problem(
                    "custody.access_truncated",
                    n=cp["number"],
                    count=cp["access_count"],
                    found=found,
                )
            )
            break
        if running != cp["access_digest"]:
            problems.append(Problem("custody.access_altered", n=cp["number"]))
        running = cp["access_digest"]
    return problems
