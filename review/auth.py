"""Who may do what in the review UI: server-side sessions, roles, login rate limits.

A session is a row in ``web_sessions``; the browser holds only a random token (its
SHA-256 is stored), so logging out, expiry, idleness or disabling the account ends it at
once, on every worker. Every route names the roles it admits with :class:`Allow`; the
route table test walks the app and checks each one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from kuzet.config import LANGUAGES
from kuzet.db import UTCDateTime, utcnow
from kuzet.i18n import t
from kuzet.models import LoginThrottle, Role, User, WebSession

COOKIE = "kuzet_sid"
LANG_COOKIE = "kuzet_lang"
MAX_AGE = timedelta(hours=8)  # a working day, then log in again
IDLE = timedelta(minutes=30)
_TOUCH = timedelta(minutes=1)  # last_seen_at is written at most this often
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES = 5  # per account or per address within the window (login_throttle)

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
    """The client's address: the socket peer, or what a trusted proxy says
    (:class:`review.proxy.TrustedProxies` has already rewritten it)."""
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


ACCOUNT, ADDRESS = "account", "address"


def login_subject(session: Session, name_key: bytes, username: str) -> tuple[str, str]:
    """What a sign-in attempt is about, as (object type, object id) for the audit log and
    the throttle: the user id when the name exists, else a keyed hash of the name, so
    a password typed into the name field is never stored."""
    uid = session.scalar(select(User.id).where(User.username == username))
    if uid is not None:
        return "user", str(uid)
    digest = hmac.new(name_key, username.encode(), hashlib.sha256).hexdigest()
    return "login_name", digest


def _take_slot(session: Session, kind: str, key: str) -> int:
    """One atomic statement: count an attempt for (kind, key) in the current window (a
    window older than LOGIN_WINDOW starts again at 1); the new count."""
    now = utcnow()
    since = now - LOGIN_WINDOW
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    expired = LoginThrottle.window_start < since
    stmt = insert(LoginThrottle).values(kind=kind, key=key, window_start=now, failures=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={
            "failures": case((expired, 1), else_=LoginThrottle.failures + 1),
            "window_start": case(
                (expired, literal(now, UTCDateTime())), else_=LoginThrottle.window_start
            ),
        },
    ).returning(LoginThrottle.failures)
    return int(session.execute(stmt).scalar_one())


def reserve_login(session: Session, slots: list[tuple[str, str]]) -> bool:
    """Take an attempt slot for each (kind, key) *before* the password is checked; False
    if any of them is over LOGIN_FAILURES in its window. Parallel attempts each get a
    distinct count, so no more than LOGIN_FAILURES of them are ever let through. The
    caller commits at once, so the count is seen by every other attempt."""
    counts = [_take_slot(session, kind, key[:100]) for kind, key in slots]
    return all(n <= LOGIN_FAILURES for n in counts)


def release_login(session: Session, slots: list[tuple[str, str]]) -> None:
    """A sign-in succeeded: its slots are given back (it was not a failure). Windows
    that are over are swept here, so names sprayed by a guesser do not pile up."""
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.window_start < utcnow() - LOGIN_WINDOW)
    )
    for kind, key in slots:
        session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.kind == kind,
                LoginThrottle.key == key[:100],
                LoginThrottle.failures > 0,
            )
            .values(failures=LoginThrottle.failures - 1)
        )


def metrics_access(request: Request, token: str | None) -> int:
    """200 if the caller may read /metrics: on this machine (a loopback client, after
    trusted proxies are taken into account), or with ``Authorization: Bearer <token>``;
    else 401 (a token is configured) or 403 (none is: metrics are local only)."""
    from review.proxy import is_loopback

    if is_loopback(client_ip(request)):
        return 200
    if not token:
        return 403
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return 200
    return 401


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
