"""``kuzet users ...``: accounts."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from kuzet.cli_common import console, ctx_of, fail
from kuzet.models import Role, User

_ctx = ctx_of

app = typer.Typer(help="User accounts.", no_args_is_help=True)


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
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this environment variable.")
    ] = None,
) -> None:
    from kuzet.users import UserError, create_user

    c = _ctx(ctx)
    if password_env:
        password = os.environ.get(password_env, "")
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise fail("passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
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
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"added {username} ({role.value})")


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
