"""A scriptable local web server for tests: routes are Python callables, every hit counted."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Reply = tuple[int, dict[str, str], bytes]
Route = Callable[[str, dict[str, str]], Reply]  # (path with query, request headers) -> reply


class WebServer:
    def __init__(self, routes: dict[str, Route] | Route, delay: float = 0.0) -> None:
        self.routes = routes
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path
                with server._lock:
                    server.hits[path] += 1
                if server.delay:
                    time.sleep(server.delay)
                status, headers, body = server.reply(path, dict(self.headers))
                self.send_response(status)
                headers = {"Content-Type": "text/html; charset=utf-8", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def reply(self, path: str, headers: dict[str, str]) -> Reply:
        if callable(self.routes):
            return self.routes(path, headers)
        if path == "/robots.txt" and path not in self.routes:
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        route = self.routes.get(path) or self.routes.get(urlsplit(path).path)
        if route is None:
            return 404, {}, b"not found"
        return route(path, headers)

    def page_hits(self) -> Counter[str]:
        return Counter({p: n for p, n in self.hits.items() if p != "/robots.txt"})

    def __enter__(self) -> WebServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def html(body: str, title: str = "Бет", status: int = 200, **headers: str) -> Route:
    head = f"<head><meta charset='utf-8'><title>{title}</title></head>"
    data = f"<!doctype html><html>{head}<body>{body}</body></html>"
    return lambda path, h: (status, dict(headers), data.encode())


def tree_site(n: int, text: Callable[[int], str]) -> Route:
    """A site of ``n`` pages shaped as a binary tree (``/``, then ``/p/1.html`` ...): page
    ``i`` shows ``text(i)`` and links to its two children and back to ``/``; robots.txt
    allows everything. Wide, so several crawl workers all find work."""

    def route(path: str, headers: dict[str, str]) -> Reply:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        if path != "/" and not re.fullmatch(r"/p/\d+\.html", path):
            return 404, {}, b"not found"
        i = 0 if path == "/" else int(path.split("/")[-1].split(".")[0])
        links = "".join(f'<a href="/p/{j}.html">{j}</a>' for j in (2 * i + 1, 2 * i + 2) if j < n)
        links += '<a href="/">home</a>'
        head = f"<head><meta charset=utf-8><title>Бет {i}</title></head>"
        return 200, {}, f"<html>{head}<body>{text(i)}{links}</body></html>".encode()

    return route


class ProxyServer(WebServer):
    """A forward HTTP proxy that serves the sites it knows itself, by host name.

    Requests arrive with absolute URIs (GET http://host/path); the host need not exist, so
    a page behind it can only be reached through this proxy. ``hits`` counts full URLs.
    """

    def __init__(self, sites: dict[str, dict[str, Route]]) -> None:
        self.sites = sites
        super().__init__(self._route)

    def _route(self, url: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(url)
        routes = self.sites.get(parts.netloc)
        if routes is None:
            return 502, {}, b"unknown host"
        if parts.path == "/robots.txt" and "/robots.txt" not in routes:
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        route = routes.get(parts.path)
        return route(url, headers) if route else (404, {}, b"not found")


class Socks5Server:
    """A minimal SOCKS5 proxy (no auth, CONNECT only) that connects named hosts to local
    ports: ``routes = {"casino.example.kz:80": 43121}``. Records every CONNECT target."""

    def __init__(self, routes: dict[str, int]) -> None:
        import asyncio

        self.routes = routes
        self.connects: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.url = ""

    async def _handle(self, reader, writer) -> None:  # type: ignore[no-untyped-def]
        import asyncio
        import struct

        try:
            _version, n = await reader.readexactly(2)
            await reader.readexactly(n)
            writer.write(b"\x05\x00")
            _, cmd, _, atyp = await reader.readexactly(4)
            if atyp == 3:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            elif atyp == 1:
                host = ".".join(map(str, await reader.readexactly(4)))
            else:
                host = (await reader.readexactly(16)).hex()
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            target = f"{host}:{port}"
            self.connects.append(target)
            local = self.routes.get(target)
            if cmd != 1 or local is None:
                writer.write(b"\x05\x04\x00\x01" + b"\x00" * 6)  # host unreachable
                await writer.drain()
                writer.close()
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", local)
            writer.write(b"\x05\x00\x00\x01" + b"\x00" * 6)
            await writer.drain()

            async def pipe(r, w) -> None:  # type: ignore[no-untyped-def]
                try:
                    while data := await r.read(65536):
                        w.write(data)
                        await w.drain()
                finally:
                    w.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def __enter__(self) -> Socks5Server:
        import asyncio

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.url = f"socks5://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            self._ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """An ASGI app (the review UI) on a real loopback port, configured as ``kuzet serve``
    configures uvicorn, in a thread; its base URL."""
    import uvicorn

    from kuzet.cli_ops import ui_server_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(ui_server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
