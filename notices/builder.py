"""Group confirmed detections into draft Form 2 notices.

One notice per (violation type, legal norm); one numbered fact per URL, carrying every
confirmed detection on that URL. A detection without a successful capture is left out
(Rule 8 requires the screenshots) and reported, so it can be re-captured and added later.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kuzet import audit
from kuzet.models import (
    Capture,
    CaptureStatus,
    Detection,
    DetectionStatus,
    Notice,
    NoticeFact,
    User,
)


@dataclass
class BuildResult:
    notices: list[Notice] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (detection id, reason)


def fact_domain(url: str) -> str:
    """The URL's host name, or its IP address where it has none."""
    return urlsplit(url).hostname or ""


def norm_key(legal_norm: dict[str, object]) -> str:
    """A legal norm as a comparable key: notices group by (violation type, norm)."""
    return json.dumps(legal_norm, sort_keys=True, ensure_ascii=False)


def missing_evidence(det: Detection) -> str | None:
    """Why a detection cannot go into a notice yet (Rule 8 requires its screenshot), or
    None when it can."""
    cap = det.capture
    if cap is None:
        return "no capture"
    if cap.status != CaptureStatus.SUCCEEDED or cap.artifact("screenshot_full") is None:
        return f"capture {cap.status.value}: {cap.error}"
    return None


def attach(notice: Notice, by_url: dict[str, NoticeFact], det: Detection) -> NoticeFact | None:
    """Put ``det`` on the notice's fact for its URL, numbering a new fact after the last;
    returns the fact when it is new. The detection must have its evidence."""
    url = det.page.url
    fact = by_url.get(url)
    created = None
    if fact is None:
        cap = det.capture
        assert cap is not None
        shot = cap.artifact("screenshot_full")
        assert shot is not None
        fact = created = NoticeFact(
            position=len(notice.facts) + 1,
            url=url,
            domain=fact_domain(url),
            ip=cap.server_ip or det.page.server_ip,
            protocol=cap.protocol or det.page.protocol,
            captured_at=cap.finished_at,
            screenshot_sha256=shot.sha256,
        )
        notice.facts.append(fact)
        by_url[url] = fact
    fact.detections.append(det)
    return created


def build_drafts(
    session: Session, *, authority: str, user: User | None = None, actor: str | None = None
) -> BuildResult:
    result = BuildResult()
    detections = session.scalars(
        select(Detection)
        .where(Detection.status == DetectionStatus.CONFIRMED, Detection.notice_fact_id.is_(None))
        .options(
            selectinload(Detection.page),
            selectinload(Detection.capture).selectinload(Capture.artifacts),
        )
        .order_by(Detection.id)
    ).all()
    groups: dict[tuple[str, str], list[Detection]] = defaultdict(list)
    for det in detections:
        reason = missing_evidence(det)
        if reason is not None:
            result.skipped.append((det.id, reason))
            continue
        groups[(det.violation_type, norm_key(det.legal_norm))].append(det)

    for (violation_type, _), dets in groups.items():
        first = dets[0]
        notice = Notice(
            authority=authority,
            violation_type=violation_type,
            violation_type_title=first.violation_type_title,
            legal_norm=first.legal_norm,
            created_by_id=user.id if user else None,
        )
        session.add(notice)
        by_url: dict[str, NoticeFact] = {}
        for det in dets:
            attach(notice, by_url, det)
        session.flush()
        audit.record(
            session,
            action="notice.draft_created",
            object_type="notice",
            object_id=notice.id,
            user=user,
            actor=actor,
            details={
                "violation_type": violation_type,
                "facts": [f.url for f in notice.facts],
                "detections": [d.id for d in dets],
            },
        )
        result.notices.append(notice)
    return result
