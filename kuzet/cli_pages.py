"""``kuzet pages ...``: a URL's stored versions and what changed between them."""

from __future__ import annotations

import difflib
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from kuzet.cli_common import console, ctx_of, fail
from kuzet.models import FetchStatus, Page

app = typer.Typer(help="Stored pages and their history.", no_args_is_help=True)


def versions(session, url: str) -> list[Page]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(select(Page).where(Page.url == url).order_by(Page.fetched_at, Page.id))
    )


@app.command("history")
def history(ctx: typer.Context, url: str) -> None:
    """Every stored fetch of URL: versions, failures, deletions."""
    c = ctx_of(ctx)
    table = Table("#", "page id", "fetched (UTC)", "status", "HTTP", "sha256", "language", "title")
    with c.db.session() as session:
        rows = versions(session, url)
        if not rows:
            raise fail(f"no stored page for {url}")
        for n, p in enumerate(rows, 1):
            table.add_row(
                str(n),
                str(p.id),
                f"{p.fetched_at:%Y-%m-%d %H:%M:%S}",
                p.fetch_status.value,
                str(p.http_status or "—"),
                (p.content_sha256 or "—")[:12],
                p.language or "—",
                (p.title or p.error or "")[:60],
            )
    console.print(table)


def text_diff(old: Page, new: Page) -> list[str]:
    a = ((old.title or "") + "\n" + (old.text or "")).splitlines()
    b = ((new.title or "") + "\n" + (new.text or "")).splitlines()
    return list(
        difflib.unified_diff(
            a,
            b,
            fromfile=f"{old.url} @ {old.fetched_at:%Y-%m-%d %H:%M:%S} (page {old.id})",
            tofile=f"{new.url} @ {new.fetched_at:%Y-%m-%d %H:%M:%S} (page {new.id})",
            lineterm="",
        )
    )


@app.command("diff")
def diff(
    ctx: typer.Context,
    url: str,
    from_: Annotated[
        int | None, typer.Option("--from", help="Version number (see history).")
    ] = None,
    to: Annotated[
        int | None, typer.Option("--to", help="Version number (default: newest).")
    ] = None,
) -> None:
    """Text diff between two stored versions of URL (default: the last two)."""
    c = ctx_of(ctx)
    with c.db.session() as session:
        rows = [p for p in versions(session, url) if p.fetch_status == FetchStatus.OK]
        if len(rows) < 2:
            raise fail(f"{url} has {len(rows)} stored version(s); a diff needs two")
        try:
            new = rows[(to or len(rows)) - 1]
            old = rows[(from_ or (to or len(rows)) - 1) - 1]
        except IndexError:
            raise fail(f"{url} has versions 1 to {len(rows)}") from None
        lines = text_diff(old, new)
    if not lines:
        console.print("no text difference (the markup changed)")
        return
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        console.print(line, style=style, highlight=False, markup=False)
