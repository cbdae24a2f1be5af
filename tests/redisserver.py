"""A throwaway Redis server for the tests: Debian's ``redis-server`` (installed by
./scripts/setup) on a free loopback port, in memory only; one database number per test.
Optionally with kuzet's shipped configuration (``deploy/redis/kuzet.conf``: no anonymous
client, a ``kuzet`` user limited to kuzet's keys) and a password of the test's."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import tempfile
import time
from itertools import count
from pathlib import Path

SHIPPED_CONF = Path(__file__).resolve().parent.parent / "deploy" / "redis" / "kuzet.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, password: str | None = None) -> None:
        """``password``: started with the shipped configuration, the ``kuzet`` user's
        password set to it."""
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).is_file():
            raise RuntimeError("redis-server not found: run ./scripts/setup")
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="kuzet-redis-"))
        self.port = _free_port()
        self._n = count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self.password = password

    def start(self) -> RedisServer:
        conf = []
        if self.password is not None:
            digest = hashlib.sha256(self.password.encode()).hexdigest()
            text = SHIPPED_CONF.read_text().replace("REPLACE_WITH_SHA256_OF_THE_PASSWORD", digest)
            (self.dir / "kuzet.conf").write_text(text)
            conf = [str(self.dir / "kuzet.conf")]
        self._proc = subprocess.Popen(
            [self.binary, *conf, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--databases", "64"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def new_url(self) -> str:
        """A URL of a database number no other test has used."""
        n = next(self._n)
        if n >= 64:
            raise RuntimeError("more than 63 Redis databases in one test session")
        auth = f"kuzet:{self.password}@" if self.password is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{n}"

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
