"""Confirm or reject a detection (Rules 10 and 11), always with an audit entry."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kuzet import audit
from kuzet.db import utcnow
from kuzet.models import Detection, DetectionStatus, User


class DecisionError(ValueError):
    """A refused decision; ``code`` is an i18n message key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def decide(
    session: Session,
    detection: Detection,
    *,
    user: User,
    confirm: bool,
    reason: str | None = None,
    via: str = "web",
) -> Detection:
    reason = (reason or "").strip() or None
    if detection.status in DetectionStatus.FINAL:
        raise DecisionError("error.already_decided")
    if not confirm and reason is None:
        # Rule 11: an unconfirmed fact is rejected only with a stated justification.
        raise DecisionError("error.reason_required")
    detection.status = DetectionStatus.CONFIRMED if confirm else DetectionStatus.REJECTED
    detection.decided_by_id = user.id
    detection.decided_at = utcnow()
    detection.decision_reason = reason
    audit.record(
        session,
        action="detection.confirmed" if confirm else "detection.rejected",
        object_type="detection",
        object_id=detection.id,
        user=user,
        details={
            "reason": reason,
            "via": via,
            "rule_id": detection.rule_id,
            "rule_version": detection.rule_version,
        },
    )
    return detection
