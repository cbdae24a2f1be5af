"""User accounts: argon2 password hashes, the password policy, creation, authentication."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kuzet import audit
from kuzet.db import utcnow
from kuzet.i18n import t
from kuzet.models import AccessLogEntry, AuditEvent, Role, User

_hasher = PasswordHasher()
# Verifying against this keeps unknown usernames as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("kuzet-timing-equaliser")
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common_passwords.txt"


class UserError(ValueError):
    pass


class PasswordRejected(UserError):
    """A password the policy refuses; ``localized(lang)`` says why in kk, ru or en."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(t(key, "en", **params))

    def localized(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(x for x in lines if x and not x.startswith("#"))


def check_password(password: str, username: str) -> None:
    """The password policy: at least MIN_PASSWORD_LENGTH characters, not the user name
    (nor containing it, in any case), not a commonly used password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected("password.too_short", n=MIN_PASSWORD_LENGTH)
    folded, name = password.casefold(), username.casefold()
    if folded == name or folded in name or (len(name) >= 3 and name in folded):
        raise PasswordRejected("password.is_username")
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise PasswordRejected("password.common")


def hash_password(password: str, username: str) -> str:
    """The argon2 hash of a password the policy accepts for ``username``."""
    check_password(password, username)
    return _hasher.hash(password)


def set_password(session: Session, user: User, password: str, *, actor: str = "cli") -> None:
    """Change a user's password (policy checked); their open sessions end."""
    from review.auth import end_sessions_of

    user.password_hash = hash_password(password, user.username)
    end_sessions_of(session, user)
    audit.record(
        session, action="user.password_changed", object_type="user", object_id=user.id,
        actor=actor,
    )  # fmt: skip


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: Role = Role.OFFICER,
    full_name: str = "",
    email: str = "",
    phone: str = "",
    position: str = "",
    actor: str = "cli",
) -> User:
    if session.scalar(select(User.id).where(User.username == username)):
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password, username),
        role=role,
        full_name=full_name,
        email=email,
        phone=phone,
        position=position,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        action="user.created",
        object_type="user",
        object_id=user.id,
        actor=actor,
        details={"username": username, "role": role.value},
    )
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def inactive_users(session: Session, cutoff: datetime) -> list[tuple[User, datetime | None]]:
    """Active accounts with no sign of activity (a sign-in or any logged action) since
    ``cutoff``, with their last activity, if any (Rule 6)."""
    # Decisions are in the custody log, views in the access log: both are activity.
    last_action, last_view = (
        dict(
            session.execute(
                select(model.user_id, func.max(model.at))
                .where(model.user_id.is_not(None))
                .group_by(model.user_id)
            ).all()
        )
        for model in (AuditEvent, AccessLogEntry)
    )
    out = []
    for u in session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username)):
        marks = (u.last_login_at, last_action.get(u.id), last_view.get(u.id))
        seen = [d for d in marks if d is not None]
        last = max(seen) if seen else None
        if (last or u.created_at) < cutoff:
            out.append((u, last))
    return out
