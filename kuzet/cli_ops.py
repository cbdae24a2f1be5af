"""``kuzet scheduler run`` and ``kuzet worker``: the processes that make kuzet run itself."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from kuzet.cli_common import console, ctx_of, fail

scheduler_app = typer.Typer(help="The scheduler (exactly one process).", no_args_is_help=True)


@scheduler_app.command("run")
def scheduler_run(ctx: typer.Context) -> None:
    """Run the scheduler until stopped (SIGTERM / Ctrl-C). A second one refuses to start."""
    from scheduler import service
    from scheduler.lock import AlreadyRunning

    c = ctx_of(ctx)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        service.run(c.settings, c.db)
    except AlreadyRunning as exc:
        raise fail(str(exc)) from exc


def worker(
    ctx: typer.Context,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="crawl and/or recheck (default: both).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run what is due, then exit.")] = False,
) -> None:
    """A worker: runs the crawls and re-checks the scheduler queued. Run as many as needed;
    SIGTERM finishes the task under way, then exits."""
    from kuzet.models import TaskKind
    from scheduler.worker import run_worker

    c = ctx_of(ctx)
    try:
        kinds = [TaskKind(k) for k in kind] if kind else list(TaskKind)
    except ValueError as exc:
        raise fail(f"{exc}; kinds are: {', '.join(k.value for k in TaskKind)}") from exc
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    n = run_worker(c.settings, c.db, kinds=kinds, stop=stop, until_idle=once)
    console.print(f"tasks run: {n}")
