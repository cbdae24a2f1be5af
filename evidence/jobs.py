"""Run queued captures: claim rows, capture with one browser, store artifacts, record status.

Every claimed capture ends in a final state: succeeded with its artifacts, or failed with
its reason. A missing screenshot is therefore always a visible failed capture.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import kuzet
from evidence.capture import (
    CaptureBackend,
    CaptureError,
    CaptureOptions,
    CaptureOutput,
    PlaywrightBackend,
)
from evidence.store import ArtifactStore, LocalArtifactStore
from kuzet.config import Settings
from kuzet.db import Database, utcnow
from kuzet.models import Artifact, Capture, CaptureStatus, Page
from kuzet.profiles import profile_path

logger = logging.getLogger(__name__)


@dataclass
class CaptureSummary:
    succeeded: int = 0
    failed: int = 0


Claimed = tuple[int, str, CaptureOptions]


def _claim(settings: Settings, db: Database, ids: Sequence[int] | None) -> list[Claimed]:
    with db.session() as session:
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
            claimed.append((cap.id, cap.url, _options(settings, cap)))
    return claimed


def _options(settings: Settings, cap: Capture) -> CaptureOptions:
    """The capture reaches the page the way the crawl did: same proxy, same login."""
    source = cap.page.source if cap.page else None
    proxy = (source.proxy if source else None) or settings.proxy
    state = None
    if source and source.login_profile:
        state = str(profile_path(settings.profiles_dir, source.login_profile))
    return CaptureOptions(proxy=proxy, storage_state=state)


def _fail(db: Database, capture_id: int, reason: str) -> None:
    with db.session() as session:
        cap = session.get(Capture, capture_id)
        assert cap is not None
        cap.status = CaptureStatus.FAILED
        cap.error = reason
        cap.finished_at = utcnow()
    logger.warning("Capture %(id)s failed: %(reason)s", {"id": capture_id, "reason": reason})


def _succeed(db: Database, store: ArtifactStore, capture_id: int, out: CaptureOutput) -> None:
    # Files are durable before the row that points at them commits.
    stored = [(a, store.put(a.data)) for a in out.artifacts]
    with db.session() as session:
        cap = session.get(Capture, capture_id)
        assert cap is not None
        for art, st in stored:
            cap.artifacts.append(
                Artifact(kind=art.kind, media_type=art.media_type, sha256=st.sha256, size=st.size)
            )
        cap.final_url = out.final_url
        cap.http_status = out.http_status
        cap.server_ip = out.server_ip
        cap.protocol = out.protocol
        cap.browser_version = out.browser_version
        cap.user_agent = out.user_agent
        cap.tool_version = f"kuzet {kuzet.__version__}"
        cap.status = CaptureStatus.SUCCEEDED
        cap.finished_at = utcnow()


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
        for capture_id, _, _ in claimed:
            _fail(db, capture_id, f"browser unavailable: {exc}")
        summary.failed = len(claimed)
        return summary

    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(capture_id: int, url: str, options: CaptureOptions) -> None:
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
                _succeed(db, store, capture_id, out)
                summary.succeeded += 1
            except OSError as exc:
                _fail(db, capture_id, f"could not store artifacts: {exc}")
                summary.failed += 1

    try:
        await asyncio.gather(*(one(cid, url, options) for cid, url, options in claimed))
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
