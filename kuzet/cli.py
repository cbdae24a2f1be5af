"""The ``kuzet`` command line."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer
from rich.live import Live
from rich.table import Table
from sqlalchemy import func, select

from kuzet import (
    cli_evidence,
    cli_form1,
    cli_notices,
    cli_ops,
    cli_pages,
    cli_rules,
    cli_sources,
    cli_users,
)
from kuzet.cli_common import Ctx, console, ctx_of, err, fail
from kuzet.config import LANGUAGES, Settings
from kuzet.i18n import t
from rules.loader import VIOLATION_TYPES_FILE, RulePackError, load_violation_types

if TYPE_CHECKING:
    from kuzet.demo import DemoResult

app = typer.Typer(
    help="kuzet — monitoring, evidence capture and Form 2 notices.", no_args_is_help=True
)
captures_app = typer.Typer(help="Evidence capture jobs.", no_args_is_help=True)
app.add_typer(cli_rules.app, name="rules")
app.add_typer(cli_sources.app, name="sources")
app.add_typer(cli_pages.app, name="pages")
app.add_typer(cli_users.app, name="users")
app.add_typer(cli_notices.app, name="notices")
app.add_typer(cli_form1.app, name="form1")
app.add_typer(cli_ops.scheduler_app, name="scheduler")
app.command("worker")(cli_ops.worker)
app.command("status")(cli_ops.status)
app.command("doctor")(cli_ops.doctor)
app.add_typer(captures_app, name="captures")
app.add_typer(cli_evidence.app, name="evidence")
app.command("capture")(cli_evidence.capture)
_ctx = ctx_of


@app.callback()
def main_callback(
    ctx: typer.Context,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language of messages and documents: kk, ru or en.")
    ] = None,
) -> None:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    if lang:
        if lang not in LANGUAGES:
            raise fail(f"--lang must be one of {', '.join(LANGUAGES)}", 2)
        settings = replace(settings, language=lang)
    ctx.obj = Ctx(settings)


# ---------------------------------------------------------------- demo / serve


def demo_table(result: DemoResult, type_names: dict[str, str], lang: str) -> Table:
    """The demo's summary: pages, detections per violation type (by its name in
    ``lang``), captures and notices."""
    table = Table(title=t("demo.summary", lang), show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row(
        t("demo.pages", lang),
        f"{result.pages} ({t('demo.failed_fetches', lang)}: {result.failed_fetches})",
    )
    for vtype, n in result.detections.items():
        table.add_row(f"{t('demo.detections', lang)}: {type_names.get(vtype, vtype)}", str(n))
    table.add_row(
        t("demo.captures", lang), f"{result.captures_succeeded} / {result.captures_failed}"
    )
    table.add_row(t("demo.notices", lang), str(len(result.notices)))
    return table


@app.command()
def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the review UI running afterwards.")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Crawl the bundled sample sites, flag, capture, and draft notices."""
    from kuzet.demo import run_demo

    c = _ctx(ctx)
    lang = c.lang
    try:
        with console.status("crawl → rules → capture → notices …"):
            result = run_demo(c.settings, c.db)
    except RulePackError as exc:
        raise fail(exc.localized(lang)) from exc
    names = load_violation_types(c.settings.rules_dir / VIOLATION_TYPES_FILE)
    table = demo_table(result, {k: v.get(lang) for k, v in names.items()}, lang)
    console.print(table)
    for n in result.notices:
        console.print(f"  #{n['id']}: {n['pdf']}\n       {n['json']}", highlight=False)
    console.print(t("demo.summary_file", lang, path=result.summary_path), highlight=False)
    if serve:
        _serve(
            c,
            host,
            port,
            banner=t(
                "demo.serving",
                lang,
                url=f"http://{host}:{port}/",
                user=result.officer,
                password=result.officer_password,
            ),
        )


def _serve(c: Ctx, host: str, port: int, banner: str | None = None) -> None:
    cli_ops.serve_ui(c, host, port, banner)


@app.command()
def serve(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the officer review UI."""
    _serve(_ctx(ctx), host, port)


# ---------------------------------------------------------------- crawl / captures


def _progress_table(p) -> Table:  # type: ignore[no-untyped-def]
    table = Table(show_header=True)
    for col in ("fetched", "queued", "failed", "stored", "analysed", "detections"):
        table.add_column(col, justify="right")
    table.add_row(
        str(p.done),
        str(p.pending),
        str(p.failed),
        str(p.stored),
        str(p.analysed),
        str(p.detections),
    )
    return table


@app.command()
def crawl(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Source name (repeatable).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every enabled source.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue crawls that were killed.")
    ] = False,
    capture: Annotated[
        bool, typer.Option(help="Capture the flagged pages right after the crawl.")
    ] = True,
) -> None:
    """Crawl sources, store new page versions, run the rules, capture what they flag."""
    from crawler.runner import CrawlError, run_crawl

    c = _ctx(ctx)
    if not (source or all_ or resume):
        raise fail("name sources with --source NAME, or use --all or --resume", 2)
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            result = run_crawl(
                c.settings,
                c.db,
                None if all_ else source,
                resume=resume,
                on_progress=lambda p: live.update(_progress_table(p)),
            )
    except RulePackError as exc:
        raise fail(exc.localized(c.lang)) from exc
    except CrawlError as exc:
        raise fail(str(exc)) from exc
    from kuzet.models import CrawlRun, Detection, Page

    table = Table(
        "run", "source", "status", "fetched", "new", "unchanged", "304", "failed", "detections"
    )
    with c.db.session() as session:
        found = dict(
            session.execute(
                select(Page.crawl_run_id, func.count(Detection.id))
                .join(Detection)
                .where(Page.crawl_run_id.in_(result.run_ids))
                .group_by(Page.crawl_run_id)
            ).all()
        )
        for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(result.run_ids))):
            st = run.stats
            det = found.get(run.id, 0)
            table.add_row(
                str(run.id),
                run.source.name,
                run.status.value,
                str(st.get("kuzet/pages/fetched", 0)),
                str(st.get("kuzet/pages/stored", 0)),
                str(st.get("kuzet/pages/unchanged", 0)),
                str(st.get("kuzet/pages/not_modified", 0)),
                str(st.get("kuzet/pages/failed", 0)),
                str(det or "—"),
            )
    console.print(table)
    for e in result.errors:
        err.print(e, highlight=False)
    console.print(f"log: {result.log_file}", highlight=False)
    if capture:
        _capture_flagged(c, result.run_ids)
    if result.errors:
        raise typer.Exit(1)


def _capture_flagged(c: Ctx, run_ids: list[int]) -> None:
    """Evidence first: flagged content is often gone within hours."""
    from evidence.jobs import run_captures
    from kuzet.models import Capture, CaptureStatus, Page

    with c.db.session() as session:
        queued = list(
            session.scalars(
                select(Capture.id)
                .join(Page, Capture.page_id == Page.id)
                .where(Page.crawl_run_id.in_(run_ids), Capture.status == CaptureStatus.QUEUED)
            )
        )
    if queued:
        with console.status(f"capturing {len(queued)} flagged page(s) …"):
            summary = run_captures(c.settings, c.db, queued)
        console.print(f"captures: {summary.succeeded} succeeded, {summary.failed} failed")


@captures_app.command("work")
def captures_work(ctx: typer.Context) -> None:
    """The capture worker: keep one browser and capture queued pages as they arrive, until
    stopped (Ctrl-C or SIGTERM). Run one per machine that captures."""
    cli_ops.capture_worker(_ctx(ctx))


@captures_app.command("run")
def captures_run(ctx: typer.Context) -> None:
    """Capture every queued page, and those due for another attempt, then exit."""
    from evidence.jobs import run_captures

    c = _ctx(ctx)
    summary = run_captures(c.settings, c.db)
    console.print(f"succeeded: {summary.succeeded}  failed: {summary.failed}")
    if summary.failed:
        raise typer.Exit(1)


@app.command("db-upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (every command does this on start, too)."""
    _ = _ctx(ctx).db
    console.print("database is up to date")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
