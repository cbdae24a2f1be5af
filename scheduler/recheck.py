"""Re-checking the URLs of a sent notice: removed, or still available.

Each check is a full capture of the URL (screenshots, WARC, hashes), kept in the page's
history, so "removed" and "still available" both rest on evidence. A fact is removed when
the page answers 404/410/451, or loads but no longer holds any of the flagged passages; it
is still available when a flagged passage is still there. Anything else (the site down,
a 5xx, a refused connection) proves nothing either way: the fact keeps its status and is
checked again at the next turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kuzet import audit
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import (
    Capture,
    CaptureStatus,
    Notice,
    NoticeFact,
    NoticeStatus,
    RecheckStatus,
)

logger = logging.getLogger(__name__)

GONE_STATUSES = frozenset({404, 410, 451})


@dataclass(frozen=True)
class Finding:
    status: RecheckStatus | None  # None: inconclusive
    reason: str


def judge(cap: Capture) -> Finding:
    if cap.status != CaptureStatus.SUCCEEDED:
        return Finding(None, f"not reachable: {cap.error}")
    code = cap.http_status or 0
    if code in GONE_STATUSES:
        return Finding(RecheckStatus.REMOVED, f"HTTP {code}")
    if not 200 <= code < 400:
        return Finding(None, f"HTTP {code}")
    found = ((cap.meta or {}).get("highlight") or {}).get("found") or []
    if any(found):
        return Finding(RecheckStatus.STILL_AVAILABLE, "a flagged passage is still on the page")
    return Finding(RecheckStatus.REMOVED, "the flagged passages are no longer on the page")


def schedule_first_checks(notice: Notice, sent_at: datetime, after: timedelta) -> None:
    for fact in notice.facts:
        fact.recheck_status = RecheckStatus.PENDING
        fact.next_check_at = sent_at + after


def follow_facts(notice: Notice) -> NoticeStatus:
    """The notice's status from its facts: all removed → removed; any still available →
    still available. A restricted or withdrawn notice keeps its status."""
    if notice.status not in (NoticeStatus.SENT, NoticeStatus.STILL_AVAILABLE):
        return notice.status
    states = [f.recheck_status for f in notice.facts]
    if states and all(s == RecheckStatus.REMOVED for s in states):
        return NoticeStatus.REMOVED
    if any(s == RecheckStatus.STILL_AVAILABLE for s in states):
        return NoticeStatus.STILL_AVAILABLE
    return notice.status


def recheck_fact(settings: Settings, db: Database, fact_id: int, now: datetime) -> Finding:
    """Capture the fact's URL again and record what it shows."""
    from evidence.jobs import run_captures

    with db.session() as s:
        fact = s.get(NoticeFact, fact_id)
        if fact is None:
            raise ValueError(f"notice fact {fact_id} does not exist")
        det = fact.detections[0] if fact.detections else None
        cap = Capture(page_id=det.page_id if det else None, url=fact.url)
        s.add(cap)
        s.flush()
        capture_id = cap.id
    run_captures(settings, db, [capture_id])
    with db.session() as s:
        cap = s.get(Capture, capture_id)
        fact = s.get(NoticeFact, fact_id)
        assert cap is not None and fact is not None
        finding = judge(cap)
        _record(s, fact, cap, finding, now, timedelta(hours=settings.recheck_every_h))
    return finding


def _record(
    s: Session,
    fact: NoticeFact,
    cap: Capture,
    finding: Finding,
    now: datetime,
    every: timedelta,
) -> None:
    fact.checks += 1
    fact.last_checked_at = now
    fact.last_check_capture_id = cap.id
    if finding.status is not None:
        fact.recheck_status = finding.status
    fact.next_check_at = None if fact.recheck_status == RecheckStatus.REMOVED else now + every
    notice = fact.notice
    before = notice.status
    after = follow_facts(notice)
    audit.record(
        s,
        action="notice_fact.rechecked",
        object_type="notice_fact",
        object_id=fact.id,
        actor="worker",
        details={
            "url": fact.url,
            "finding": finding.status.value if finding.status else "inconclusive",
            "reason": finding.reason,
            "capture_id": cap.id,
            "manifest_sha256": cap.manifest_sha256,
            "http_status": cap.http_status,
        },
    )
    if after != before:
        notice.status, notice.status_changed_at = after, now
        if after == NoticeStatus.STILL_AVAILABLE:
            from scheduler.alerts import still_available

            still_available(s, notice, fact.url, finding.reason, now)
        audit.record(
            s,
            action=f"notice.{after.value}",
            object_type="notice",
            object_id=notice.id,
            actor="worker",
            details={"fact": fact.url, "reason": finding.reason},
        )
        logger.warning(
            "Notice %(id)s is now %(status)s (%(url)s: %(reason)s)",
            {"id": notice.id, "status": after.value, "url": fact.url, "reason": finding.reason},
        )
