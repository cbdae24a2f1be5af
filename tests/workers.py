"""Worker processes and threads for the tests and benches that run several at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kuzet.config import Settings


def spawn_worker(
    settings: Settings, *args: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``kuzet worker ARGS`` in a process group of its own (killed together, as a host)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kuzet", "worker", *args],
        env={**os.environ, **settings.to_env(), **(env or {})},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_workers(procs: Sequence[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM to every worker still running; SIGKILL to any not gone after ``grace_s``."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def worker_holding(
    pids: Sequence[int | None], procs: Sequence[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes] | None:
    """The worker (of ``procs``, each a process group) one of ``pids`` belongs to."""
    for pid in pids:
        for proc in procs:
            try:
                if pid and os.getpgid(pid) == proc.pid:
                    return proc
            except ProcessLookupError:
                continue
    return None


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker's whole process group, as a host dying, and reap it."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def all_at_once(calls: Sequence[Callable[[], Any]], timeout: float = 120) -> list[Any]:
    """Run the calls in threads released together; their results, or the first error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if errors:
        raise errors[0]
    return results
