"""Confirm or reject a detection (Rules 10 and 11), or ask for more information first;
always with an audit entry."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kuzet import audit
from kuzet.db import utcnow
from kuzet.models import Detection, DetectionStatus, User

OUTCOMES = {
    "confirm": DetectionStatus.CONFIRMED,
    "reject": DetectionStatus.REJECTED,
    "needs_info": DetectionStatus.NEEDS_INFO,
}


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
    confirm: bool | None = None,
    outcome: str | None = None,
    reason: str | None = None,
    via: str = "web",
) -> Detection:
    """``outcome`` is confirm / reject / needs_info (``confirm`` is the short form of the
    first two). A rejection needs a written reason (Rule 11); so does a request for more
    information, which says what is missing."""
    if outcome is None:
        outcome = "confirm" if confirm else "reject"
    status = OUTCOMES.get(outcome)
    if status is None:
        raise DecisionError("error.unknown_decision")
    reason = (reason or "").strip() or None
    if detection.status in DetectionStatus.FINAL:
        raise DecisionError("error.already_decided")
    if status == DetectionStatus.REJECTED and reason is None:
        # Rule 11: an unconfirmed fact is rejected only with a stated justification.
        raise DecisionError("error.reason_required")
    if status == DetectionStatus.NEEDS_INFO and reason is None:
        raise DecisionError("error.question_required")
    detection.status = status
    detection.decided_by_id = user.id
    detection.decided_at = utcnow()
    detection.decision_reason = reason
    audit.record(
        session,
        action=f"detection.{status.value}",
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
