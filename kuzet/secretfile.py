"""Secret files (signing keys, login credentials) that are never readable by others.

A secret is written to a temporary file opened with mode 0600 from the start, then
linked into place, so no other user can ever read it, not even for an instant, and two
processes creating the same secret at once both end up with the one that won. Folders
that hold secrets are created 0700.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

SECRET_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing; make ``path`` itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def write_secret(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` with mode 0600, atomically.

    With ``replace=False`` an existing file is kept and False is returned (another
    process created it first); otherwise the file is put in place and True is returned.
    """
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # fails if the file exists: the first writer wins
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_or_create(path: Path, factory: Callable[[], bytes]) -> bytes:
    """The secret in ``path``; made by ``factory`` and stored 0600 the first time.

    A file that exists but is readable by group or others is tightened to 0600."""
    if not path.exists():
        write_secret(path, factory(), replace=False)
    if path.stat().st_mode & 0o077:
        path.chmod(SECRET_MODE)
    return path.read_bytes()
