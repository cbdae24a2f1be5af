"""Who may do what in the review UI: server-side sessions, roles, login rate limits.

A session is a row in ``web_sessions``; the browser holds only a random token (its
SHA-256 is stored), so logging out, expiry, idleness or disabling the account ends it at
once, on every worker. Every route names the roles it admits with :class:`Allow`; the
route table test walks the app and checks each one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from kuzet.config import LANGUAGES
from kuzet.db import utcnow
from kuzet.i18n import t
from kuzet.models import AuditEvent, Role, User, WebSession

COOKIE = "kuzet_sid"
LANG_COOKIE = "kuzet_lang"
MAX_AGE = timedelta(hours=8)  # a working day, then log in again
IDLE = timedelta(minutes=30)
_TOUCH = timedelta(minutes=1)  # last_seen_at is written at most this often
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES = 5  # per user name or per address within the window

# Who does what (Rules 9–11): officers review and draft, heads sign, analysts look at
# detections to tune rules, monitors run sources, admins manage accounts.
REVIEWERS = frozenset({Role.OFFICER, Role.HEAD})
READERS = REVIEWERS | {Role.ANALYST}
SIGNERS = frozenset({Role.HEAD})
ADMINS = frozenset({Role.ADMIN})
EVERYONE = frozenset(Role)


class LoginRequired(Exception):
    pass


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


DB = Annotated[Session, Depends(get_session)]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lang_of(request: Request) -> str:
    """The reader's language: ?lang=, else their cookie, else the installation's."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return lang if lang in LANGUAGES else request.app.state.settings.language


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def start_session(session: Session, user: User, ip: str) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_sha256=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + MAX_AGE,
            ip=ip[:64],
        )
    )
    # Old sessions of anyone are swept here, so the table never grows without bound.
    session.execute(
        delete(WebSession).where(
            or_(WebSession.expires_at < now, WebSession.last_seen_at < now - IDLE)
        )
    )
    return token


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))


def end_sessions_of(session: Session, user: User) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def session_user(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    row = session.scalars(
        select(WebSession).where(WebSession.token_sha256 == _digest(token))
    ).first()
    if row is None:
        return None
    now = utcnow()
    if row.expires_at <= now or row.last_seen_at <= now - IDLE:
        session.delete(row)
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        session.delete(row)
        return None
    if now - row.last_seen_at > _TOUCH:
        row.last_seen_at = now
    return user


def login_blocked(session: Session, username: str, ip: str) -> bool:
    """Too many failed logins for this name or from this address lately."""
    since = utcnow() - LOGIN_WINDOW
    failures = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "auth.login_failed",
            AuditEvent.at >= since,
            or_(AuditEvent.object_id == username[:100], AuditEvent.details["ip"].as_string() == ip),
        )
    )
    return (failures or 0) >= LOGIN_FAILURES


class Allow:
    """Route dependency: the signed-in user, if their role is one of ``roles``.
    Anonymous → :class:`LoginRequired` (login page or 401); wrong role → 403."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(self, request: Request, session: DB) -> User:
        user = session_user(session, request.cookies.get(COOKIE))
        if user is None:
            raise LoginRequired()
        if user.role not in self.roles:
            raise HTTPException(status_code=403, detail=t("error.forbidden", lang_of(request)))
        return user


# The roles each route admits, as route parameters.
Reader = Annotated[User, Depends(Allow(READERS))]
Reviewer = Annotated[User, Depends(Allow(REVIEWERS))]
Signer = Annotated[User, Depends(Allow(SIGNERS))]
Anyone = Annotated[User, Depends(Allow(EVERYONE))]
