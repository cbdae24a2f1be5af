"""``kuzet scheduler run`` and ``kuzet worker``: the processes that make kuzet run itself."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer

from kuzet.cli_common import Ctx, console, ctx_of, fail

scheduler_app = typer.Typer(help="The scheduler (exactly one process).", no_args_is_help=True)


JsonLogs = Annotated[
    bool, typer.Option("--log-json", envvar="KUZET_LOG_JSON", help="Log one JSON object a line.")
]


@scheduler_app.command("run")
def scheduler_run(ctx: typer.Context, log_json: JsonLogs = False) -> None:
    """Run the scheduler until stopped (SIGTERM / Ctrl-C). A second one refuses to start."""
    from scheduler import service
    from scheduler.lock import AlreadyRunning

    c = ctx_of(ctx)
    from scheduler.ops import setup_logging

    setup_logging(log_json)
    try:
        service.run(c.settings, c.db)
    except AlreadyRunning as exc:
        raise fail(str(exc)) from exc


def worker(
    ctx: typer.Context,
    kinds_: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[crawl|recheck|capture]...",
            help="What this worker does (default: crawls and re-checks).",
        ),
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", hidden=True)] = None,
    once: Annotated[bool, typer.Option("--once", help="Run what is due, then exit.")] = False,
    log_json: JsonLogs = False,
) -> None:
    """A worker: runs the crawls and re-checks the scheduler queued (`kuzet worker crawl`,
    `kuzet worker recheck`), or captures (`kuzet worker capture`, the same as `kuzet
    captures work`). Run as many as needed; SIGTERM finishes the work under way first."""
    from kuzet.models import TaskKind
    from scheduler.ops import setup_logging
    from scheduler.worker import run_worker

    c = ctx_of(ctx)
    wanted = [*(kinds_ or []), *(kind or [])]
    setup_logging(log_json)
    if "capture" in wanted:
        if len(wanted) > 1:
            raise fail("a capture worker keeps a browser: run it as a process of its own")
        if once:
            from evidence.jobs import run_captures

            summary = run_captures(c.settings, c.db)
            console.print(f"captures: {summary.succeeded} succeeded, {summary.failed} failed")
        else:
            capture_worker(c)
        return
    if c.settings.redis_url and "crawl" in wanted:
        # Distributed: a long-lived crawl worker on the shared Redis queue.
        if len(wanted) > 1 or once:
            raise fail("with KUZET_REDIS_URL, `kuzet worker crawl` runs alone and until stopped")
        from scheduler.worker import run_crawl_worker

        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        console.print("crawl worker on the shared Redis queue; Ctrl-C stops")
        raise typer.Exit(run_crawl_worker(c.settings, c.db, stop))
    if c.settings.redis_url and not wanted:
        wanted = [TaskKind.RECHECK.value]  # crawls go through Redis, not through tasks
    try:
        kinds = [TaskKind(k) for k in wanted] if wanted else list(TaskKind)
    except ValueError as exc:
        choices = ", ".join([*(k.value for k in TaskKind), "capture"])
        raise fail(f"{exc}; kinds are: {choices}") from exc
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    n = run_worker(c.settings, c.db, kinds=kinds, stop=stop, until_idle=once)
    console.print(f"tasks run: {n}")


def capture_worker(c: Ctx) -> None:
    """The capture worker (`kuzet worker capture`, `kuzet captures work`): one browser,
    until SIGTERM or Ctrl-C, which take no new capture and finish those under way."""
    import asyncio

    from evidence.jobs import run_worker as run_capture_worker

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"capture worker: {c.settings.capture_concurrency} at a time; Ctrl-C stops")
    summary = run_capture_worker(c.settings, c.db, stop)
    console.print(
        f"capture worker stopped: {summary.succeeded} succeeded, {summary.failed} failed",
        highlight=False,
    )


def ui_server_config(application: Any, host: str, port: int) -> Any:
    """uvicorn's configuration for the review UI. Proxy headers are read by the app
    itself, from KUZET_TRUSTED_PROXIES only; uvicorn's own handling (which believes any
    loopback peer's X-Forwarded-For) stays off."""
    import uvicorn

    return uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )


def serve_ui(c: Ctx, host: str, port: int, banner: str | None = None) -> None:
    """The review UI under uvicorn (``kuzet serve``, ``kuzet demo --serve``); refuses a
    weak secret key or a bad KUZET_TRUSTED_PROXIES before anything starts."""
    import uvicorn

    from review.app import create_app

    try:
        c.settings.secret_key()  # before the database is touched
        application = create_app(c.settings, c.db)
    except ValueError as exc:  # ConfigError, or a KUZET_TRUSTED_PROXIES entry
        raise fail(str(exc), 2) from exc
    console.print(banner or f"http://{host}:{port}/", highlight=False)
    uvicorn.Server(ui_server_config(application, host, port)).run()


def status(ctx: typer.Context) -> None:
    """Queues, each source's last and next run, and what failed in the last 24 hours."""
    from rich.table import Table

    from kuzet.db import utcnow
    from scheduler.ops import status as read_status

    c = ctx_of(ctx)
    st = read_status(c.db, utcnow())
    console.print(f"scheduler: {st.scheduler}", highlight=False)
    queues = Table("queue", "queued", "running", "succeeded", "failed")
    for kind, counts in sorted(st.tasks.items()):
        queues.add_row(
            kind, *(str(counts.get(k, 0)) for k in ("queued", "running", "succeeded", "failed"))
        )
    queues.add_row(
        "capture",
        str(st.captures.get("queued", 0) + st.captures.get("retrying", 0)),
        str(st.captures.get("running", 0)),
        str(st.captures.get("succeeded", 0)),
        str(st.captures.get("failed", 0)),
    )
    console.print(queues)
    console.print(f"alerts not delivered: {st.alerts_pending}", highlight=False)
    sources = Table("source", "schedule", "last run (UTC)", "status", "next run (UTC)")
    fmt = "%Y-%m-%d %H:%M"
    for s in st.sources:
        sources.add_row(
            s.name + ("" if s.enabled else " (disabled)"),
            s.schedule or "—",
            s.last_run.strftime(fmt) if s.last_run else "—",
            s.last_status or "—",
            s.next_run.strftime(fmt) if s.next_run else "—",
        )
    console.print(sources)
    if st.failures_24h:
        console.print(f"failures in the last 24 h: {len(st.failures_24h)}")
        for line in st.failures_24h[:50]:
            console.print(f"  {line}", highlight=False)
    else:
        console.print("failures in the last 24 h: 0")


def doctor(
    ctx: typer.Context,
    full: Annotated[
        bool, typer.Option("--full", help="Re-hash every capture, not the newest 20.")
    ] = False,
) -> None:
    """Check the browser, fonts, database schema, disk space and evidence store; exit 1 if
    any check fails."""
    from scheduler.ops import doctor as run_doctor

    c = ctx_of(ctx)
    checks = run_doctor(c.settings, c.db, full=full)
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]FAIL[/]"
        console.print(f"{mark} {check.name}: {check.detail}")
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
