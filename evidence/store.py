"""Artifact storage, content-addressed by SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class ArtifactStore(ABC):
    """Write-once storage of evidence files.

    ``put`` returns only after the bytes are durable (a caller may then commit a database
    row that references them); storing the same bytes twice is a no-op returning the same
    digest. ``open_bytes`` returns exactly what was stored or raises ``FileNotFoundError``;
    it never verifies the hash itself — :func:`verify` does.
    """

    @abstractmethod
    def put(self, data: bytes) -> Stored: ...

    @abstractmethod
    def open_bytes(self, sha256: str) -> bytes: ...

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    def verify(self, sha256: str) -> bool:
        """True when the stored bytes still hash to their address."""
        try:
            return hashlib.sha256(self.open_bytes(sha256)).hexdigest() == sha256
        except FileNotFoundError:
            return False


class LocalArtifactStore(ArtifactStore):
    """Files under ``root/ab/cd/<sha256>``, read-only once written."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> Stored:
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists() and final.stat().st_size == len(data):
            return Stored(sha, len(data))
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return Stored(sha, len(data))

    def open_bytes(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()
