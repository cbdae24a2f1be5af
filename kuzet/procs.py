"""Whether a worker process recorded on a job is still running."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

HOST = socket.gethostname()


def alive(pid: int | None, host: str | None) -> bool:
    """True when ``pid`` runs on this host. A process on another host cannot be seen from
    here: callers decide by other means (a lease) when ``on_this_host`` is False."""
    if not pid or host != HOST:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def on_this_host(host: str | None) -> bool:
    return host == HOST


def holder_gone(
    pid: int | None,
    host: str | None,
    seen_at: datetime | None,
    lease: timedelta,
    now: datetime,
) -> bool:
    """Whether the worker holding a job (or a lock) is gone: on this host, its process no
    longer runs; elsewhere (or with no process recorded), it was last seen (``seen_at``:
    started, or its heartbeat) longer than ``lease`` ago, or never."""
    if on_this_host(host) and pid:
        return not alive(pid, host)
    return seen_at is None or seen_at < now - lease
