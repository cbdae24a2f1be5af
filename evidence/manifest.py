"""A capture's manifest, and checking a stored capture against it and the custody log.

The manifest is canonical JSON (sorted keys, UTF-8) listing every artifact of a capture
with its SHA-256 and size, the metadata of the load and the rule hits that caused it. It
is stored as an artifact itself; its hash is on the capture row and in the custody log,
so changing any file, the manifest, or the log entry that vouches for it is detectable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence import timestamp
from evidence.store import ArtifactStore
from evidence.warc import check_warc
from kuzet.audit import verify_chain
from kuzet.models import AuditEvent, Capture, CaptureStatus

MANIFEST_KIND = "manifest"
MANIFEST_VERSION = 1
CUSTODY_ACTION = "capture.stored"


@dataclass(frozen=True)
class Listed:
    kind: str
    media_type: str
    sha256: str
    size: int


def build_manifest(
    *,
    capture_id: int,
    url: str,
    artifacts: Sequence[Listed],
    metadata: dict[str, Any],
    hits: list[dict[str, Any]],
) -> bytes:
    doc = {
        "manifest_version": MANIFEST_VERSION,
        "capture_id": capture_id,
        "url": url,
        "artifacts": [
            {"kind": a.kind, "media_type": a.media_type, "sha256": a.sha256, "size": a.size}
            for a in artifacts
        ],
        "metadata": metadata,
        "rule_hits": hits,
    }
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")


def verify_capture(
    session: Session,
    store: ArtifactStore,
    cap: Capture,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> list[str]:
    """What is wrong with a stored capture (empty when intact): each problem names the
    capture and the artifact or record concerned."""
    if cap.status != CaptureStatus.SUCCEEDED:
        return []
    name = f"capture {cap.id}"
    problems: list[str] = []
    for art in cap.artifacts:
        if not store.exists(art.sha256):
            problems.append(f"{name}: {art.kind} ({art.sha256[:12]}…) is missing from the store")
        elif not store.verify(art.sha256):
            problems.append(f"{name}: {art.kind} ({art.sha256[:12]}…) was altered")
    for art in cap.artifacts:
        if art.kind == "warc" and store.verify(art.sha256):
            problems += [f"{name}: WARC {p}" for p in check_warc(store.open_bytes(art.sha256))]
    if not cap.manifest_sha256:
        return [*problems, f"{name}: has no manifest"]
    manifest_row = next((a for a in cap.artifacts if a.kind == MANIFEST_KIND), None)
    if manifest_row is None or manifest_row.sha256 != cap.manifest_sha256:
        problems.append(f"{name}: the manifest recorded for it is not among its artifacts")
    elif store.verify(cap.manifest_sha256):
        listed = json.loads(store.open_bytes(cap.manifest_sha256))
        want = {(a["kind"], a["sha256"], a["size"]) for a in listed["artifacts"]}
        # The manifest cannot list itself, nor the timestamp issued over it.
        after = (MANIFEST_KIND, timestamp.KIND)
        have = {(a.kind, a.sha256, a.size) for a in cap.artifacts if a.kind not in after}
        for kind, sha, _ in sorted(want - have):
            problems.append(f"{name}: {kind} ({sha[:12]}…) is in the manifest but not recorded")
        for kind, sha, _ in sorted(have - want):
            problems.append(f"{name}: {kind} ({sha[:12]}…) is recorded but not in the manifest")
    stamp = next((a for a in cap.artifacts if a.kind == timestamp.KIND), None)
    if stamp is not None and store.verify(stamp.sha256) and store.verify(cap.manifest_sha256):
        checked = timestamp.verify_timestamp(
            store.open_bytes(stamp.sha256), store.open_bytes(cap.manifest_sha256), tsa_roots
        )
        if not checked.ok:
            problems.append(f"{name}: its RFC 3161 timestamp does not hold: {checked.problem}")
    vouched = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == CUSTODY_ACTION,
            AuditEvent.object_type == "capture",
            AuditEvent.object_id == str(cap.id),
        )
    ).all()
    entry = next(
        (ev for ev in vouched if ev.details.get("manifest_sha256") == cap.manifest_sha256), None
    )
    if entry is None:
        problems.append(f"{name}: no custody log entry vouches for its manifest")
    elif stamp is not None and entry.details.get("timestamp_sha256") != stamp.sha256:
        problems.append(f"{name}: its timestamp is not the one the custody log recorded")
    return problems


def verify_all(
    session: Session,
    store: ArtifactStore,
    ids: Sequence[int] | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> tuple[int, list[str]]:
    """Check the captures (all, or ``ids``) and the whole custody log."""
    query = select(Capture).where(Capture.status == CaptureStatus.SUCCEEDED).order_by(Capture.id)
    if ids is not None:
        query = query.where(Capture.id.in_(list(ids)))
    captures = session.scalars(query).all()
    problems: list[str] = []
    for cap in captures:
        problems += verify_capture(session, store, cap, tsa_roots)
    problems += verify_chain(session)
    return len(captures), problems
