"""``kuzet sources ...``: manage watched sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import func, select

from kuzet import audit
from kuzet.cli_common import console, ctx_of, fail
from kuzet.models import CrawlRun, Page, Source
from kuzet.redact import redact_url
from kuzet.sources import SourceError, SourceSpec, WatchlistError, load_watchlist, upsert

app = typer.Typer(help="Watched sources.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    url: str,
    kind: Annotated[str, typer.Option(help="site, feed, sitemap or telegram")] = "site",
    depth: int = 2,
    max_pages: int = 100,
    allow: Annotated[
        list[str] | None, typer.Option(help="URL regex a link must match (repeatable)")
    ] = None,
    deny: Annotated[
        list[str] | None, typer.Option(help="URL regex that excludes a link (repeatable)")
    ] = None,
    render: Annotated[
        bool, typer.Option(help="Fetch through the browser (JS-built pages).")
    ] = False,
    robots: Annotated[
        bool, typer.Option(help="Obey robots.txt (turning it off is audited).")
    ] = True,
    allow_private: Annotated[bool, typer.Option(help="Allow private/loopback addresses.")] = False,
    proxy: Annotated[str | None, typer.Option(help="http://, https://, socks5:// proxy")] = None,
    login_profile: Annotated[str | None, typer.Option(help="Saved browser login to use.")] = None,
) -> None:
    """Add a source."""
    c = ctx_of(ctx)
    try:
        spec = SourceSpec(
            name=name,
            url=url,
            kind=kind,
            depth=depth,
            max_pages=max_pages,
            allow=allow or [],
            deny=deny or [],
            render=render,
            obey_robots=robots,
            allow_private=allow_private,
            proxy=proxy,
            login_profile=login_profile,
        )
    except ValidationError as exc:
        e = exc.errors()[0]
        raise fail(f"{'.'.join(map(str, e['loc'])) or 'source'}: {e['msg']}") from exc
    try:
        with c.db.session() as session:
            upsert(session, [spec], actor="cli", only_new=True)
    except SourceError as exc:
        raise fail(str(exc)) from exc
    console.print(f"added {name} ({spec.kind}: {spec.url})", highlight=False)


@app.command("import")
def import_(ctx: typer.Context, watchlist: Path) -> None:
    """Add or update sources from a YAML watchlist (idempotent)."""
    c = ctx_of(ctx)
    try:
        specs = load_watchlist(watchlist)
    except WatchlistError as exc:
        raise fail(exc.localized(c.lang)) from exc
    with c.db.session() as session:
        result = upsert(session, specs, actor=f"cli import {watchlist}")
    added, updated, same = len(result.added), len(result.updated), len(result.unchanged)
    console.print(f"added {added}, updated {updated}, unchanged {same}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    c = ctx_of(ctx)
    table = Table()
    table.add_column("name", overflow="fold")
    table.add_column("kind")
    table.add_column("url", overflow="fold", min_width=24, ratio=1)
    table.add_column("depth/max", justify="right")
    table.add_column("robots")
    table.add_column("on")
    table.add_column("pages", justify="right")
    table.add_column("last crawl")
    with c.db.session() as session:
        pages = dict(
            session.execute(
                select(Page.source_id, func.count(Page.id)).group_by(Page.source_id)
            ).all()
        )
        last = dict(
            session.execute(
                select(CrawlRun.source_id, func.max(CrawlRun.started_at)).group_by(
                    CrawlRun.source_id
                )
            ).all()
        )
        for s in session.scalars(select(Source).order_by(Source.name)):
            table.add_row(
                s.name,
                s.kind.value,
                s.start_url,
                f"{s.max_depth}/{s.max_pages}",
                "yes" if s.obey_robots else "[red]no[/]",
                "yes" if s.enabled else "no",
                str(pages.get(s.id, 0)),
                last[s.id].strftime("%Y-%m-%d %H:%M") if s.id in last else "—",
            )
    console.print(table)


def _get(session, name: str) -> Source:  # type: ignore[no-untyped-def]
    source = session.scalars(select(Source).where(Source.name == name)).first()
    if source is None:
        raise fail(f"no source named {name!r}")
    return source


@app.command("show")
def show(ctx: typer.Context, name: str) -> None:
    c = ctx_of(ctx)
    with c.db.session() as session:
        s = _get(session, name)
        table = Table(show_header=False)
        for col in (
            "name",
            "kind",
            "start_url",
            "max_depth",
            "max_pages",
            "allow",
            "deny",
            "render",
            "obey_robots",
            "allow_private",
            "proxy",
            "login_profile",
            "enabled",
            "created_at",
            "updated_at",
        ):
            value = getattr(s, col)
            if col == "proxy":
                value = redact_url(value)  # the password stays in the source row
            table.add_row(col, str(value.value if hasattr(value, "value") else value))
        runs = session.scalars(
            select(CrawlRun).where(CrawlRun.source_id == s.id).order_by(CrawlRun.id.desc()).limit(5)
        ).all()
        for r in runs:
            table.add_row(
                f"run {r.id}",
                f"{r.status.value} {r.started_at:%Y-%m-%d %H:%M} "
                f"pages {r.stats.get('kuzet/pages/fetched', 0)}",
            )
    console.print(table)


def _set_enabled(ctx: typer.Context, name: str, enabled: bool) -> None:
    c = ctx_of(ctx)
    with c.db.session() as session:
        s = _get(session, name)
        s.enabled = enabled
        audit.record(
            session,
            action="source.enabled" if enabled else "source.disabled",
            object_type="source",
            object_id=name,
            actor="cli",
        )
    console.print(f"{name}: {'enabled' if enabled else 'disabled'}")


@app.command("disable")
def disable(ctx: typer.Context, name: str) -> None:
    """Stop crawling a source (its pages and evidence stay)."""
    _set_enabled(ctx, name, False)


@app.command("enable")
def enable(ctx: typer.Context, name: str) -> None:
    _set_enabled(ctx, name, True)


@app.command("set-schedule")
def set_schedule(
    ctx: typer.Context,
    name: str,
    schedule: Annotated[
        str | None,
        typer.Argument(help='Cron line in UTC ("*/30 * * * *") or interval ("every 6h").'),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Crawl only when asked.")] = False,
) -> None:
    """When the scheduler crawls this source; the running scheduler picks it up within a
    minute."""
    from scheduler.triggers import ScheduleError, parse

    if not clear and not schedule:
        raise fail('give a schedule ("*/30 * * * *", "every 6h") or --clear', 2)
    if schedule and not clear:
        try:
            parse(schedule)
        except ScheduleError as exc:
            raise fail(str(exc)) from exc
    c = ctx_of(ctx)
    value = None if clear else " ".join((schedule or "").split())
    with c.db.session() as session:
        s = _get(session, name)
        old, s.schedule = s.schedule, value
        audit.record(
            session,
            action="source.schedule_set",
            object_type="source",
            object_id=name,
            actor="cli",
            details={"from": old, "to": value},
        )
    console.print(f"{name}: {value or 'no schedule'}", highlight=False)


@app.command("remove")
def remove(ctx: typer.Context, name: str) -> None:
    """Delete a source that has never been crawled (otherwise disable it: evidence stays)."""
    c = ctx_of(ctx)
    with c.db.session() as session:
        s = _get(session, name)
        if session.scalar(select(CrawlRun.id).where(CrawlRun.source_id == s.id).limit(1)):
            raise fail(f"{name} has crawl history and evidence; use 'kuzet sources disable {name}'")
        session.delete(s)
        audit.record(
            session, action="source.removed", object_type="source", object_id=name, actor="cli"
        )
    console.print(f"removed {name}")


@app.command("login")
def login(
    ctx: typer.Context,
    name: str,
    cookies: Annotated[
        Path | None, typer.Option(help="Import a cookies.txt or JSON cookie export instead.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Profile name (default: the source's).")
    ] = None,
) -> None:
    """Save a login for a source: log in by hand in a browser window, or import cookies."""
    from kuzet.profiles import ProfileError, parse_cookies_file, profile_path, save_state

    c = ctx_of(ctx)
    with c.db.session() as session:
        source = _get(session, name)
        url = source.start_url
    profile = profile or name
    try:
        path = profile_path(c.settings.profiles_dir, profile)
        if cookies is not None:
            state = {"cookies": parse_cookies_file(cookies), "origins": []}
        else:
            state = _record_login(c.settings, url)
    except ProfileError as exc:
        raise fail(str(exc)) from exc
    save_state(path, state)
    with c.db.session() as session:
        _get(session, name).login_profile = profile
        audit.record(
            session, action="source.login_saved", object_type="source", object_id=name, actor="cli",
            details={"profile": profile, "cookies": len(state.get("cookies", [])),
                     "from": str(cookies) if cookies else "browser"},
        )  # fmt: skip
    console.print(
        f"{name}: login profile {profile!r} saved ({len(state['cookies'])} cookies) in {path}"
    )


def _record_login(settings, url: str) -> dict:  # type: ignore[no-untyped-def]
    """Open a visible browser at ``url``; the officer logs in, then presses Enter here."""
    import os

    from playwright.sync_api import sync_playwright

    from evidence.chromium import launch_options, sandbox_decision
    from kuzet.profiles import ProfileError

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise ProfileError("no display to open a browser on: use --cookies FILE")
    with sync_playwright() as pw:
        options = launch_options(sandbox_decision(settings.chromium_sandbox))
        options["args"] = [a for a in options["args"] if a != "--hide-scrollbars"]
        browser = pw.chromium.launch(
            executable_path=settings.chromium_path, headless=False, **options
        )
        context = browser.new_context()
        context.new_page().goto(url)
        console.print("Log in in the browser window, then press Enter here.")
        input()
        state = context.storage_state()
        browser.close()
    return state  # type: ignore[return-value]
