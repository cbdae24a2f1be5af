"""Editing draft notices: the authority's name, facts added or removed, and revising a
locked notice into a new draft. A signed notice is never changed in place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kuzet import audit
from kuzet.db import utcnow
from kuzet.models import (
    Capture,
    Detection,
    DetectionStatus,
    Notice,
    NoticeFact,
    NoticeStatus,
    User,
)
from notices.builder import attach, missing_evidence, norm_key
from notices.export import load_notice


class DraftError(ValueError):
    """An edit that cannot be made; ``code`` is an i18n key, ``args`` its values."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


def _draft(session: Session, notice_id: int) -> Notice:
    notice = load_notice(session, notice_id)
    if notice.status in NoticeStatus.LOCKED:
        raise DraftError("error.notice_locked", id=notice.id)
    return notice


def candidates(session: Session, notice: Notice) -> list[Detection]:
    """Confirmed detections with evidence, in no notice yet, that fit this notice's
    violation type and legal norm."""
    rows = session.scalars(
        select(Detection)
        .where(
            Detection.status == DetectionStatus.CONFIRMED,
            Detection.notice_fact_id.is_(None),
            Detection.violation_type == notice.violation_type,
        )
        .options(
            selectinload(Detection.page),
            selectinload(Detection.capture).selectinload(Capture.artifacts),
        )
        .order_by(Detection.id)
    ).all()
    norm = norm_key(notice.legal_norm)
    return [d for d in rows if norm_key(d.legal_norm) == norm and missing_evidence(d) is None]


def _renumber(notice: Notice) -> None:
    for i, fact in enumerate(notice.facts, 1):
        fact.position = i


def set_authority(session: Session, notice_id: int, authority: str, *, user: User) -> Notice:
    notice = _draft(session, notice_id)
    old, notice.authority = notice.authority, authority.strip()
    audit.record(
        session,
        action="notice.edited",
        object_type="notice",
        object_id=notice.id,
        user=user,
        details={"authority": {"from": old, "to": notice.authority}},
    )
    return notice


def remove_fact(session: Session, notice_id: int, fact_id: int, *, user: User) -> Notice:
    notice = _draft(session, notice_id)
    fact = next((f for f in notice.facts if f.id == fact_id), None)
    if fact is None:
        raise DraftError("error.no_such_fact", id=fact_id)
    for det in fact.detections:
        det.notice_fact_id = None  # back among the confirmed ones, for another notice
    url = fact.url
    notice.facts.remove(fact)
    session.flush()  # the row is gone before positions close the gap
    _renumber(notice)
    audit.record(
        session,
        action="notice.edited",
        object_type="notice",
        object_id=notice.id,
        user=user,
        details={"removed_fact": url},
    )
    return notice


def add_detections(
    session: Session, notice_id: int, detection_ids: Sequence[int], *, user: User
) -> Notice:
    notice = _draft(session, notice_id)
    fitting = {d.id: d for d in candidates(session, notice)}
    wrong = [i for i in detection_ids if i not in fitting]
    if wrong:
        raise DraftError("error.detection_does_not_fit", ids=", ".join(map(str, wrong)))
    by_url = {f.url: f for f in notice.facts}
    added = []
    for det_id in detection_ids:
        new = attach(notice, by_url, fitting[det_id])
        if new is not None:
            added.append(new.url)
    session.flush()
    audit.record(
        session,
        action="notice.edited",
        object_type="notice",
        object_id=notice.id,
        user=user,
        details={"added_facts": added, "detections": list(detection_ids)},
    )
    return notice


def revise(session: Session, notice_id: int, *, user: User) -> Notice:
    """A new draft with the same facts; a signed notice not yet sent is superseded by it
    (a sent one stays as it went out, with its own status)."""
    old = session.get(
        Notice, notice_id, options=[selectinload(Notice.facts).selectinload(NoticeFact.detections)]
    )
    if old is None:
        raise DraftError("error.no_such_notice", id=notice_id)
    if old.status == NoticeStatus.DRAFT:
        return old
    new = Notice(
        authority=old.authority,
        violation_type=old.violation_type,
        violation_type_title=old.violation_type_title,
        legal_norm=old.legal_norm,
        created_by_id=user.id,
        supersedes_id=old.id,
    )
    session.add(new)
    for fact in old.facts:
        copy = NoticeFact(
            position=fact.position,
            url=fact.url,
            domain=fact.domain,
            ip=fact.ip,
            protocol=fact.protocol,
            captured_at=fact.captured_at,
            screenshot_sha256=fact.screenshot_sha256,
        )
        new.facts.append(copy)
        copy.detections.extend(fact.detections)  # the detections follow the newest notice
    if old.status == NoticeStatus.SIGNED:
        old.status, old.status_changed_at = NoticeStatus.SUPERSEDED, utcnow()
    session.flush()
    audit.record(
        session,
        action="notice.revised",
        object_type="notice",
        object_id=new.id,
        user=user,
        details={"supersedes": old.id, "previous_status": old.status.value},
    )
    return new
