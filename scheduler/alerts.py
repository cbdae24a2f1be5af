"""Alerts: urgent detections for the first head (seed 003), URLs still online after a
notice, and the half-yearly reminders (Form 1, Rule 5; inactive accounts, Rule 6).

Alerts are rows first (so none is lost while the mail server is down), then delivered by
e-mail (SMTP) and/or a webhook (JSON POST), one by one or as a digest. Each text is in
Kazakh and Russian.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kuzet.config import Settings
from kuzet.db import Database
from kuzet.i18n import localized, t
from kuzet.models import Alert, Detection, Notice
from kuzet.users import inactive_users
from notices import form1

logger = logging.getLogger(__name__)

REMINDER_REPEAT = timedelta(days=30)  # a due Form 1 is recalled monthly until exported
INACTIVE_EVERY = timedelta(days=183)  # Rule 6: every half year
INACTIVE_AFTER = timedelta(days=183)


def _both(key: str, **values: object) -> str:
    return f"{t(key, 'kk', **values)} / {t(key, 'ru', **values)}"


def raise_alert(
    session: Session,
    *,
    kind: str,
    subject: str,
    body: str,
    now: datetime,
    detection_id: int | None = None,
    notice_id: int | None = None,
) -> Alert:
    alert = Alert(
        kind=kind, subject=subject, body=body, created_at=now,
        detection_id=detection_id, notice_id=notice_id,
    )  # fmt: skip
    session.add(alert)
    session.flush()
    return alert


def scan_urgent(settings: Settings, db: Database, now: datetime) -> int:
    """One alert per new detection in an urgent category."""
    if not settings.urgent_types:
        return 0
    with db.session() as s:
        alerted = select(Alert.detection_id).where(Alert.detection_id.is_not(None))
        fresh = s.scalars(
            select(Detection)
            .where(
                Detection.violation_type.in_(settings.urgent_types),
                Detection.id.not_in(alerted),
            )
            .order_by(Detection.id)
        ).all()
        for det in fresh:
            title = " / ".join(
                filter(None, (localized(det.violation_type_title, lang) for lang in ("kk", "ru")))
            )
            raise_alert(
                s,
                kind="urgent_detection",
                subject=f"{_both('alert.urgent')}: {title or det.violation_type}",
                body=(
                    f"{det.page.url}\n{title}\n{det.rule_id} v{det.rule_version}, "
                    f"{det.severity}, score {det.score}\n/detections/{det.id}"
                ),
                now=now,
                detection_id=det.id,
            )
        return len(fresh)


def still_available(s: Session, notice: Notice, url: str, reason: str, now: datetime) -> Alert:
    return raise_alert(
        s,
        kind="still_available",
        subject=f"{_both('alert.still_available')}: №{notice.id}",
        body=f"{url}\n{reason}\n/notices/{notice.id}",
        now=now,
        notice_id=notice.id,
    )


def reminders(settings: Settings, db: Database, now: datetime) -> list[str]:
    """The half-yearly reminders that are due; each raised once per period."""
    raised = []
    with db.session() as s:

        def last(kind: str) -> datetime | None:
            return s.scalar(select(func.max(Alert.created_at)).where(Alert.kind == kind))

        if form1.renewal_due(s):
            previous = last("form1_due")
            if previous is None or now - previous >= REMINDER_REPEAT:
                when = form1.last_export(s)
                raise_alert(
                    s,
                    kind="form1_due",
                    subject=_both("form1.due"),
                    body=f"{_both('alert.last_export')}: {when:%Y-%m-%d}" if when else "—",
                    now=now,
                )
                raised.append("form1_due")
        previous = last("inactive_accounts")
        if previous is None or now - previous >= INACTIVE_EVERY:
            names = _inactive(s, now)
            raise_alert(
                s,
                kind="inactive_accounts",
                subject=_both("alert.inactive", n=len(names)),
                body="\n".join(names) or "—",
                now=now,
            )
            raised.append("inactive_accounts")
    return raised


def _inactive(s: Session, now: datetime) -> list[str]:
    return [
        f"{u.username} ({u.role.value}) {u.full_name}".strip()
        for u, _ in inactive_users(s, now - INACTIVE_AFTER)
    ]


# ---------------------------------------------------------------------- delivery


def _send_mail(settings: Settings, subject: str, body: str) -> None:
    parts = urlsplit(settings.smtp_url or "")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = (
        settings.alert_from,
        ", ".join(settings.alert_to),
        subject,
    )
    msg.set_content(body)
    with smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=30) as smtp:
        smtp.send_message(msg)


def _post(settings: Settings, payload: dict[str, object]) -> None:
    assert settings.alert_webhook
    req = urllib.request.Request(
        settings.alert_webhook,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status >= 300:
            raise OSError(f"webhook answered HTTP {resp.status}")


def deliver(settings: Settings, db: Database, now: datetime) -> int:
    """Send what is pending; returns how many alerts went out. With a digest period, one
    message carries every pending alert once the oldest has waited that long."""
    mail = bool(settings.smtp_url and settings.alert_to)
    hook = bool(settings.alert_webhook)
    if not (mail or hook):
        return 0
    with db.session() as s:
        pending = s.scalars(select(Alert).where(Alert.sent_at.is_(None)).order_by(Alert.id)).all()
        if not pending:
            return 0
        if settings.alert_digest_min > 0:
            if now - pending[0].created_at < timedelta(minutes=settings.alert_digest_min):
                return 0
            batches = [pending]
        else:
            batches = [[a] for a in pending]
        sent = 0
        for batch in batches:
            if len(batch) == 1:
                subject, body = batch[0].subject, batch[0].body
            else:
                subject = _both("alert.digest", n=len(batch))
                body = "\n\n".join(f"{a.subject}\n{a.body}" for a in batch)
            payload = {
                "subject": subject,
                "alerts": [
                    {"id": a.id, "kind": a.kind, "subject": a.subject, "body": a.body,
                     "created_at": a.created_at.isoformat()}
                    for a in batch
                ],
            }  # fmt: skip
            try:
                if mail:
                    _send_mail(settings, subject, body)
                if hook:
                    _post(settings, payload)
            except (OSError, smtplib.SMTPException) as exc:
                for a in batch:
                    a.attempts += 1
                    a.error = f"{type(exc).__name__}: {exc}"
                logger.warning("Alert delivery failed: %(exc)s", {"exc": exc})
                continue
            for a in batch:
                a.attempts += 1
                a.sent_at, a.error = now, None
            sent += len(batch)
        return sent


__all__ = ["deliver", "raise_alert", "reminders", "scan_urgent", "still_available"]
