"""Whether a worker process recorded on a job is still running."""

from __future__ import annotations

import os
import socket

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
