"""``kuzet users ...``: accounts."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from kuzet.cli_common import console, ctx_of, err, fail
from kuzet.i18n import t
from kuzet.models import Role, User

_ctx = ctx_of

app = typer.Typer(help="User accounts.", no_args_is_help=True)

PasswordEnv = Annotated[
    str | None,
    typer.Option("--password-env", help="Read the password from this environment variable."),
]
PasswordArg = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="The password itself (visible to other users in the process list: prefer "
        "--password-env or the prompt).",
    ),
]


def argv_password_warning(lang: str) -> None:
    """Said whenever a password came on the command line."""
    err.print(f"[yellow]{t('cli.password_in_argv', lang)}[/]", highlight=False)


def read_password(
    lang: str, password: str | None, password_env: str | None, *, confirm: bool = True
) -> str:
    """A new password: from ``--password-env VAR``, else the prompt (twice), else one
    line of standard input; ``--password`` works too, with a warning."""
    if password is not None:
        argv_password_warning(lang)
        return password
    if password_env:
        if password_env not in os.environ:
            raise fail(t("cli.password_env_unset", lang, var=password_env))
        return os.environ[password_env]
    if sys.stdin.isatty():
        password = getpass.getpass(f"{t('login.password', lang)}: ")
        if confirm and getpass.getpass(f"{t('login.password', lang)} (2): ") != password:
            raise fail(t("cli.passwords_differ", lang))
        return password
    return sys.stdin.readline().rstrip("\n")


# ---------------------------------------------------------------- users


@app.command("add")
def users_add(
    ctx: typer.Context,
    username: str,
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.OFFICER,
    full_name: str = "",
    email: str = "",
    phone: str = "",
    position: str = "",
    password_env: PasswordEnv = None,
    password_arg: PasswordArg = None,
) -> None:
    """Add an account. The password (at least 12 characters, not the user name, not a
    common one) comes from --password-env VAR or the prompt."""
    from kuzet.users import PasswordRejected, UserError, create_user

    c = _ctx(ctx)
    password = read_password(c.lang, password_arg, password_env)
    try:
        with c.db.session() as session:
            create_user(
                session,
                username,
                password,
                role=role,
                full_name=full_name,
                email=email,
                phone=phone,
                position=position,
            )
    except PasswordRejected as exc:
        raise fail(exc.localized(c.lang)) from exc
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"added {username} ({role.value})")


@app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    username: str,
    password_env: PasswordEnv = None,
    password_arg: PasswordArg = None,
) -> None:
    """Change an account's password (the same policy as for new ones); its open sessions
    end."""
    from kuzet.users import PasswordRejected, set_password

    c = _ctx(ctx)
    password = read_password(c.lang, password_arg, password_env)
    try:
        with c.db.session() as session:
            set_password(session, _user(session, username), password)
    except PasswordRejected as exc:
        raise fail(exc.localized(c.lang)) from exc
    console.print(t("cli.password_changed", c.lang, user=username), highlight=False)


@app.command("list")
def users_list(ctx: typer.Context) -> None:
    c = _ctx(ctx)
    table = Table("username", "role", "full name", "active", "last login")
    with c.db.session() as session:
        for u in session.scalars(select(User).order_by(User.username)):
            table.add_row(
                u.username,
                u.role.value,
                u.full_name,
                str(u.is_active),
                u.last_login_at.isoformat() if u.last_login_at else "—",
            )
    console.print(table)


def _user(session, username: str) -> User:  # type: ignore[no-untyped-def]
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise fail(f"no user {username!r}")
    return user


@app.command("disable")
def users_disable(ctx: typer.Context, username: str) -> None:
    """Disable an account; its open sessions end at once."""
    from kuzet import audit
    from review.auth import end_sessions_of

    c = _ctx(ctx)
    with c.db.session() as session:
        user = _user(session, username)
        user.is_active = False
        end_sessions_of(session, user)
        audit.record(
            session, action="user.disabled", object_type="user", object_id=user.id, actor="cli"
        )
    console.print(f"disabled {username}")


@app.command("enable")
def users_enable(ctx: typer.Context, username: str) -> None:
    from kuzet import audit

    c = _ctx(ctx)
    with c.db.session() as session:
        user = _user(session, username)
        user.is_active = True
        audit.record(
            session, action="user.enabled", object_type="user", object_id=user.id, actor="cli"
        )
    console.print(f"enabled {username}")


@app.command("set-role")
def users_set_role(
    ctx: typer.Context,
    username: str,
    role: Annotated[Role, typer.Argument(case_sensitive=False)],
) -> None:
    """Change an account's role; its sessions end so the new role applies at once."""
    from kuzet import audit
    from review.auth import end_sessions_of

    c = _ctx(ctx)
    with c.db.session() as session:
        user = _user(session, username)
        old = user.role
        user.role = role
        end_sessions_of(session, user)
        audit.record(
            session,
            action="user.role_changed",
            object_type="user",
            object_id=user.id,
            actor="cli",
            details={"from": old.value, "to": role.value},
        )
    console.print(f"{username}: {old.value} → {role.value}")


@app.command("inactive")
def users_inactive(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="No activity for this many days.")] = 183,
) -> None:
    """Active accounts with no activity (sign-in or any logged action) for six months
    (Rule 6: such accounts are reviewed and closed)."""
    from datetime import timedelta

    from kuzet.db import utcnow
    from kuzet.users import inactive_users

    c = _ctx(ctx)
    table = Table("username", "role", "full name", "last activity (UTC)")
    with c.db.session() as session:
        found = inactive_users(session, utcnow() - timedelta(days=days))
        for u, last in found:
            table.add_row(
                u.username, u.role.value, u.full_name, last.isoformat() if last else "never"
            )
    console.print(table)
    console.print(t("cli.inactive", c.lang, n=len(found), days=days), highlight=False)
