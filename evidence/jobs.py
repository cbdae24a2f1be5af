"""Run queued captures: claim rows, capture with one browser, store artifacts, record status.

Every claimed capture ends in a final state: succeeded with its artifacts, or failed with
its reason. A missing screenshot is therefore always a visible failed capture.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import kuzet
from evidence.capture import (
    CaptureBackend,
    CaptureError,
    CaptureOptions,
    CaptureOutput,
    PlaywrightBackend,
)
from evidence.manifest import CUSTODY_ACTION, MANIFEST_KIND, Listed, build_manifest
from evidence.store import ArtifactStore, LocalArtifactStore
from kuzet import audit
from kuzet.config import Settings
from kuzet.db import Database, utcnow
from kuzet.models import Artifact, Capture, CaptureStatus, Detection, Page
from kuzet.profiles import profile_path

logger = logging.getLogger(__name__)


@dataclass
class CaptureSummary:
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claimed:
    capture_id: int
    url: str
    options: CaptureOptions
    hits: list[dict[str, Any]]  # the rule hits that asked for this capture


# A capture still "running" this long after it started lost its worker (killed, crashed
# machine): it is queued again, up to MAX_ATTEMPTS in all.
MAX_ATTEMPTS = 3


def _lease_s(settings: Settings) -> float:
    return settings.capture_timeout_s * 3 + 60


def _recover(settings: Settings, session: Session) -> None:
    cutoff = utcnow() - timedelta(seconds=_lease_s(settings))
    stale = session.scalars(
        select(Capture).where(Capture.status == CaptureStatus.RUNNING, Capture.started_at < cutoff)
    ).all()
    for cap in stale:
        if cap.attempts >= MAX_ATTEMPTS:
            cap.status = CaptureStatus.FAILED
            cap.error = f"gave up after {cap.attempts} attempts; the last one never finished"
            cap.finished_at = utcnow()
        else:
            cap.status = CaptureStatus.QUEUED
            cap.error = "previous attempt never finished (worker stopped); queued again"
        logger.warning(
            "Capture %(id)s was left running; %(what)s",
            {"id": cap.id, "what": cap.status.value},
        )


def _claim(settings: Settings, db: Database, ids: Sequence[int] | None) -> list[Claimed]:
    with db.session() as session:
        _recover(settings, session)
        query = select(Capture).where(Capture.status == CaptureStatus.QUEUED)
        if ids is not None:
            query = query.where(Capture.id.in_(list(ids)))
        claimed = []
        for cap in session.scalars(
            query.options(selectinload(Capture.page).selectinload(Page.source)).order_by(Capture.id)
        ):
            cap.status = CaptureStatus.RUNNING
            cap.attempts += 1
            cap.started_at = utcnow()
            hits = _hits(session, cap)
            passages = tuple(
                dict.fromkeys(s.get("text", "") for h in hits for s in h["spans"] if s.get("text"))
            )
            claimed.append(Claimed(cap.id, cap.url, _options(settings, cap, passages[:20]), hits))
    return claimed


def _hits(session: Session, cap: Capture) -> list[dict[str, Any]]:
    """The detections of the captured page: which rule logic fired, and on what."""
    if cap.page_id is None:
        return []
    detections = session.scalars(
        select(Detection).where(Detection.page_id == cap.page_id).order_by(Detection.id)
    ).all()
    return [
        {
            "detection_id": d.id,
            "rule_id": d.rule_id,
            "rule_version": d.rule_version,
            "rule_fingerprint": d.rule_fingerprint,
            "violation_type": d.violation_type,
            "score": d.score,
            "spans": [
                {k: sp.get(k) for k in ("scope", "start", "end", "text", "term")}
                for sp in d.spans
                if isinstance(sp, dict)
            ],
        }
        for d in detections
    ]


def _options(settings: Settings, cap: Capture, passages: tuple[str, ...] = ()) -> CaptureOptions:
    """The capture reaches the page the way the crawl did: same proxy, same login."""
    source = cap.page.source if cap.page else None
    proxy = (source.proxy if source else None) or settings.proxy
    state = None
    if source and source.login_profile:
        state = str(profile_path(settings.profiles_dir, source.login_profile))
    return CaptureOptions(proxy=proxy, storage_state=state, highlight=passages)


def _fail(db: Database, capture_id: int, reason: str) -> None:
    with db.session() as session:
        cap = session.get(Capture, capture_id)
        assert cap is not None
        cap.status = CaptureStatus.FAILED
        cap.error = reason
        cap.finished_at = utcnow()
    logger.warning("Capture %(id)s failed: %(reason)s", {"id": capture_id, "reason": reason})


def _succeed(db: Database, store: ArtifactStore, job: Claimed, out: CaptureOutput) -> None:
    # Files, then the manifest that lists them, are durable before the row that points
    # at them commits: no row ever refers to a partial file.
    listed = []
    for art in out.artifacts:
        st = store.put(art.data)
        listed.append(Listed(art.kind, art.media_type, st.sha256, st.size))
    manifest = build_manifest(
        capture_id=job.capture_id,
        url=job.url,
        artifacts=listed,
        metadata=out.metadata,
        hits=job.hits,
    )
    stored_manifest = store.put(manifest)
    listed.append(
        Listed(MANIFEST_KIND, "application/json", stored_manifest.sha256, stored_manifest.size)
    )
    with db.session() as session:
        cap = session.get(Capture, job.capture_id)
        assert cap is not None
        for item in listed:
            cap.artifacts.append(
                Artifact(
                    kind=item.kind, media_type=item.media_type, sha256=item.sha256, size=item.size
                )
            )
        cap.final_url = out.final_url
        cap.http_status = out.http_status
        cap.server_ip = out.server_ip
        cap.protocol = out.protocol
        cap.browser_version = out.browser_version
        cap.user_agent = out.user_agent
        cap.tool_version = f"kuzet {kuzet.__version__}"
        cap.meta = out.metadata
        cap.manifest_sha256 = stored_manifest.sha256
        cap.status = CaptureStatus.SUCCEEDED
        cap.finished_at = utcnow()
        audit.record(
            session,
            action=CUSTODY_ACTION,
            object_type="capture",
            object_id=cap.id,
            actor="capture",
            details={"url": job.url, "manifest_sha256": stored_manifest.sha256},
        )


async def _run(
    db: Database,
    store: ArtifactStore,
    backend: CaptureBackend,
    claimed: list[Claimed],
    concurrency: int,
    timeout_s: float,
) -> CaptureSummary:
    summary = CaptureSummary()
    try:
        await backend.start()
    except Exception as exc:
        for job in claimed:
            _fail(db, job.capture_id, f"browser unavailable: {exc}")
        summary.failed = len(claimed)
        return summary

    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(job: Claimed) -> None:
        capture_id, url, options = job.capture_id, job.url, job.options
        async with sem:
            try:
                out = await asyncio.wait_for(backend.capture(url, options), timeout=timeout_s)
            except TimeoutError:
                _fail(db, capture_id, f"timed out after {timeout_s:.0f} s")
                summary.failed += 1
                return
            except CaptureError as exc:
                _fail(db, capture_id, str(exc))
                summary.failed += 1
                return
            except Exception as exc:
                logger.exception("Unexpected capture error for %(url)s", {"url": url})
                _fail(db, capture_id, f"{type(exc).__name__}: {exc}")
                summary.failed += 1
                return
            try:
                _succeed(db, store, job, out)
                summary.succeeded += 1
            except OSError as exc:
                _fail(db, capture_id, f"could not store artifacts: {exc}")
                summary.failed += 1

    try:
        await asyncio.gather(*(one(job) for job in claimed))
    finally:
        await backend.close()
    return summary


def run_captures(
    settings: Settings,
    db: Database,
    ids: Sequence[int] | None = None,
    *,
    backend_factory: Callable[[Settings], CaptureBackend] = PlaywrightBackend,
) -> CaptureSummary:
    """Capture every queued capture (or only ``ids``) and wait until all are final."""
    claimed = _claim(settings, db, ids)
    if not claimed:
        return CaptureSummary()
    store = LocalArtifactStore(settings.evidence_dir)
    return asyncio.run(
        _run(
            db,
            store,
            backend_factory(settings),
            claimed,
            settings.capture_concurrency,
            settings.capture_timeout_s * 2,
        )
    )
