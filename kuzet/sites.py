"""Serve directories of static pages on 127.0.0.1, one port per site.

Used by ``kuzet demo`` for its bundled sample sites and by the tests as their
local web; nothing here ever listens beyond loopback.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

DEMO_SITES_DIR = Path(__file__).resolve().parent / "demo_sites"


class _QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class SiteServer:
    """Static sites on loopback; ``urls[name]`` is each site's base URL (with trailing slash)."""

    roots: dict[str, Path]
    host: str = "127.0.0.1"
    urls: dict[str, str] = field(default_factory=dict)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def start(self) -> SiteServer:
        for name, root in self.roots.items():
            handler = functools.partial(_QuietHandler, directory=str(root))
            server = ThreadingHTTPServer((self.host, 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"site-{name}", daemon=True).start()
            self._servers.append(server)
            self.urls[name] = f"http://{self.host}:{server.server_address[1]}/"
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_server() -> SiteServer:
    return SiteServer({p.name: p for p in sorted(DEMO_SITES_DIR.iterdir()) if p.is_dir()})
