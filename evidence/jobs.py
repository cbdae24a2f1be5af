"""Run queued captures: claim rows, capture with one browser, store artifacts, record status.

Every claimed capture ends in a final state: succeeded with its artifacts, or failed with
its reason. A missing screenshot is therefore always a visible failed capture.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

import kuzet
from evidence import timestamp
from evidence.capture import (
    CaptureBackend,
    CaptureError,
    CaptureOptions,
    CaptureOutput,
    PlaywrightBackend,
)
from evidence.manifest import CUSTODY_ACTION, MANIFEST_KIND, Listed, build_manifest
from evidence.sniff import sniff
from evidence.store import ArtifactStore, LocalArtifactStore
from kuzet import audit, procs
from kuzet.config import Settings
from kuzet.db import Database, utcnow
from kuzet.models import Artifact, Capture, CaptureStatus, Detection, Page
from kuzet.netguard import own_hosts
from kuzet.profiles import profile_path

logger = logging.getLogger(__name__)


@dataclass
class CaptureSummary:
    succeeded: int = 0
    failed: int = 0
    retrying: int = 0  # failed for a passing reason; due again later
    browser_restarts: int = 0


@dataclass(frozen=True)
class Claimed:
    capture_id: int
    url: str
    options: CaptureOptions
    hits: list[dict[str, Any]]  # the rule hits that asked for this capture
    attempt: int = 1


# A capture still "running" this long after it started lost its worker (killed, crashed
# machine): it is queued again, up to MAX_ATTEMPTS in all.
MAX_ATTEMPTS = 3
RETRY_DELAY_S = 30.0  # after a time-out: 30 s, then 60 s


def _lease_s(settings: Settings) -> float:
    return settings.capture_timeout_s * 3 + 60


def _recover(settings: Settings, session: Session) -> None:
    """Queue again the captures whose worker is gone: a process of this host that no
    longer runs, or (on any host) one that has held it past its lease."""
    lease, now = timedelta(seconds=_lease_s(settings)), utcnow()
    running = session.scalars(select(Capture).where(Capture.status == CaptureStatus.RUNNING))
    for cap in running:
        if not procs.holder_gone(cap.worker_pid, cap.worker_host, cap.started_at, lease, now):
            continue
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


def _due() -> Any:
    return or_(
        Capture.status == CaptureStatus.QUEUED,
        and_(Capture.status == CaptureStatus.RETRYING, Capture.retry_at <= utcnow()),
    )


def _claimable(ids: Sequence[int] | None) -> Any:
    query = select(Capture).where(_due())
    if ids is not None:
        query = query.where(Capture.id.in_(list(ids)))
    return query


def _claim(
    settings: Settings, db: Database, ids: Sequence[int] | None, limit: int | None = None
) -> list[Claimed]:
    """Mark up to ``limit`` due captures running (oldest first) and return them. Only as
    many as can start now are claimed, so a long queue never outlives its lease.

    Any number of workers may claim at once and none gets a capture another has: on
    PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED`` (rows another
    worker holds are passed over, not waited for); everywhere, each is taken by an update
    that only succeeds while the row is still due."""
    with db.session() as session:
        _recover(settings, session)
    claimed: list[Claimed] = []
    with db.session() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        taken: list[int] = []
        for _ in range(5):  # rows lost to another worker: look again, a few times
            want = None if limit is None else limit - len(taken)
            if want == 0:
                break
            query = _claimable(ids).order_by(Capture.id).with_only_columns(Capture.id)
            if want is not None:
                query = query.limit(want)
            if postgres:
                query = query.with_for_update(skip_locked=True)
            candidates = session.scalars(query).all()
            if not candidates:
                break
            for cap_id in candidates:
                won = session.execute(
                    update(Capture)
                    .where(Capture.id == cap_id, _due())
                    .values(
                        status=CaptureStatus.RUNNING,
                        attempts=Capture.attempts + 1,
                        started_at=utcnow(),
                        retry_at=None,
                        worker_pid=os.getpid(),
                        worker_host=procs.HOST,
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                if won == 1:
                    taken.append(cap_id)
            if len(taken) == len(candidates) and want is None:
                break
        rows = session.scalars(
            select(Capture)
            .where(Capture.id.in_(taken))
            .options(selectinload(Capture.page).selectinload(Page.source))
            .order_by(Capture.id)
        ).all()
        for cap in rows:
            hits = _hits(session, cap)
            passages = tuple(
                dict.fromkeys(s.get("text", "") for h in hits for s in h["spans"] if s.get("text"))
            )
            options = _options(settings, cap, passages[:20])
            claimed.append(Claimed(cap.id, cap.url, options, hits, cap.attempts))
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
    """The capture reaches the page the way the crawl did: same proxy, same login, and
    the same network policy (a source that allows private addresses: its own host only)."""
    source = cap.page.source if cap.page else None
    proxy = (source.proxy if source else None) or settings.proxy
    state = None
    if source and source.login_profile:
        state = str(profile_path(settings.profiles_dir, source.login_profile))
    private = own_hosts(source.start_url) if source and source.allow_private else ()
    return CaptureOptions(
        proxy=proxy, storage_state=state, highlight=passages, private_hosts=private
    )


def _fail(db: Database, capture_id: int, reason: str) -> None:
    with db.session() as session:
        cap = session.get(Capture, capture_id)
        assert cap is not None
        cap.status = CaptureStatus.FAILED
        cap.error = reason
        cap.finished_at = utcnow()
    logger.warning("Capture %(id)s failed: %(reason)s", {"id": capture_id, "reason": reason})


def _retry(db: Database, capture_id: int, reason: str, delay_s: float) -> CaptureStatus:
    """Another attempt after ``delay_s``, or failed for good after MAX_ATTEMPTS."""
    with db.session() as session:
        cap = session.get(Capture, capture_id)
        assert cap is not None
        if cap.attempts >= MAX_ATTEMPTS:
            cap.status = CaptureStatus.FAILED
            cap.error = f"gave up after {cap.attempts} attempts: {reason}"
            cap.finished_at = utcnow()
        else:
            cap.status = CaptureStatus.RETRYING
            cap.error = reason
            cap.retry_at = utcnow() + timedelta(seconds=delay_s)
        status = cap.status
    logger.warning(
        "Capture %(id)s: %(reason)s (%(status)s)",
        {"id": capture_id, "reason": reason, "status": status.value},
    )
    return status


def _succeed(
    settings: Settings, db: Database, store: ArtifactStore, job: Claimed, out: CaptureOutput
) -> None:
    # Files, then the manifest that lists them, are durable before the row that points
    # at them commits: no row ever refers to a partial file.
    listed = []
    for art in out.artifacts:
        st = store.put(art.data)
        # kuzet's own type, from the bytes: never one a backend passed on from the page.
        listed.append(Listed(art.kind, sniff(art.data, art.kind).media_type, st.sha256, st.size))
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
    custody: dict[str, Any] = {"url": job.url, "manifest_sha256": stored_manifest.sha256}
    if settings.tsa_url:
        try:
            reply = timestamp.request_timestamp(manifest, settings.tsa_url)
            st = store.put(reply)
            listed.append(Listed(timestamp.KIND, timestamp.MEDIA_TYPE, st.sha256, st.size))
            custody["timestamp_sha256"] = st.sha256
        except timestamp.TimestampError as exc:  # the capture stands; the gap is on record
            custody["timestamp_error"] = str(exc)
            logger.warning("Capture %(id)s: %(exc)s", {"id": job.capture_id, "exc": exc})
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
            details=custody,
        )


async def _work(
    settings: Settings,
    db: Database,
    store: ArtifactStore,
    backend: CaptureBackend,
    *,
    ids: Sequence[int] | None = None,
    until_idle: bool = True,
    stop: asyncio.Event | None = None,
    poll_s: float = 0.5,
) -> CaptureSummary:
    """One browser for every capture; at most ``capture_concurrency`` at a time, claimed
    as slots free up. With ``until_idle`` it returns once nothing is due; otherwise it
    polls for new jobs until ``stop`` is set."""
    summary = CaptureSummary()
    try:
        await backend.start()
    except Exception as exc:
        for job in _claim(settings, db, ids):
            _fail(db, job.capture_id, f"browser unavailable: {exc}")
            summary.failed += 1
        return summary
    concurrency = max(1, settings.capture_concurrency)
    timeout_s = settings.capture_timeout_s * 2
    restarting = asyncio.Lock()

    async def settle_browser() -> bool:
        """Restart the browser if it died; True when it had."""
        async with restarting:
            if backend.alive:
                return False
            logger.warning("The capture browser died; starting a new one")
            await backend.restart()
            summary.browser_restarts += 1
            return True

    async def transient(job: Claimed, reason: str, delay_s: float) -> None:
        status = _retry(db, job.capture_id, reason, delay_s)
        if status == CaptureStatus.FAILED:
            summary.failed += 1
        else:
            summary.retrying += 1

    async def one(job: Claimed) -> None:
        try:
            out = await asyncio.wait_for(
                _contained(backend.capture(job.url, job.options)), timeout=timeout_s
            )
        except Exception as exc:
            if await settle_browser():  # not the page's fault: again at once
                await transient(job, f"browser crashed: {exc}".splitlines()[0], 0)
            elif isinstance(exc, TimeoutError):
                await transient(job, f"timed out after {timeout_s:.0f} s", _backoff(job))
            elif isinstance(exc, CaptureError) and exc.transient:
                await transient(job, str(exc), _backoff(job))
            elif isinstance(exc, CaptureError):
                _fail(db, job.capture_id, str(exc))
                summary.failed += 1
            else:
                logger.exception("Unexpected capture error for %(url)s", {"url": job.url})
                _fail(db, job.capture_id, f"{type(exc).__name__}: {exc}")
                summary.failed += 1
            return
        try:
            # Hashing, writing and fsyncing take a while: off the event loop, so the
            # other captures' pages keep being served meanwhile.
            await _contained(asyncio.to_thread(_succeed, settings, db, store, job, out))
            summary.succeeded += 1
        except Exception as exc:
            if not isinstance(exc, OSError):
                logger.exception("Capture %(id)s not stored", {"id": job.capture_id})
            _fail(db, job.capture_id, f"could not store artifacts: {type(exc).__name__}: {exc}")
            summary.failed += 1

    running: set[asyncio.Task[None]] = set()
    try:
        while stop is None or not stop.is_set():
            free = concurrency - len(running)
            jobs = _claim(settings, db, ids, limit=free) if free > 0 else []
            for job in jobs:
                task = asyncio.create_task(one(job))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.wait(running, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
            elif until_idle:
                break
            else:
                await asyncio.sleep(poll_s)
    finally:
        if running:  # stopping: let the captures under way finish (each is bounded)
            await asyncio.gather(*running, return_exceptions=True)
        await backend.close()
    return summary


class LibraryExit(Exception):
    """Library code under a capture ended with a ``BaseException`` that is not ours to
    obey (``SystemExit`` from a command-line entry point, say): the capture failed."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(f"{type(exc).__name__}: {exc}")


T = TypeVar("T")


async def _contained(awaitable: Awaitable[T]) -> T:
    """``awaitable``'s result, with any ``BaseException`` raised inside it turned into a
    :class:`LibraryExit`, except the ones that stop this worker: a ``KeyboardInterrupt``
    and the cancellation of the task. Awaited inside the task that runs the capture, so
    nothing reaches the event loop, which stops on a ``SystemExit`` from any task."""
    try:
        return await awaitable
    except (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit):
        raise
    except Exception:
        raise
    except BaseException as exc:
        raise LibraryExit(exc) from exc


def _backoff(job: Claimed) -> float:
    return RETRY_DELAY_S * 2 ** max(0, job.attempt - 1)


def run_captures(
    settings: Settings,
    db: Database,
    ids: Sequence[int] | None = None,
    *,
    backend_factory: Callable[[Settings], CaptureBackend] = PlaywrightBackend,
) -> CaptureSummary:
    """Capture every due capture (or only ``ids``) and return once none is left due.
    Captures waiting to retry later stay ``retrying`` for the next run or the worker."""
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as session:
        _recover(settings, session)
        if session.scalars(_claimable(ids).limit(1)).first() is None:
            return CaptureSummary()
    return asyncio.run(_work(settings, db, store, backend_factory(settings), ids=ids))


def run_worker(
    settings: Settings,
    db: Database,
    stop: asyncio.Event | None = None,
    *,
    backend_factory: Callable[[Settings], CaptureBackend] = PlaywrightBackend,
    poll_s: float = 0.5,
) -> CaptureSummary:
    """The long-running capture worker: one browser, polling for due captures until
    ``stop`` is set (or the process is stopped; whatever it was doing is resumed by the
    next worker once its lease runs out)."""
    store = LocalArtifactStore(settings.evidence_dir)

    async def main() -> CaptureSummary:
        return await _work(
            settings,
            db,
            store,
            backend_factory(settings),
            until_idle=False,
            stop=stop or asyncio.Event(),
            poll_s=poll_s,
        )

    return asyncio.run(main())
