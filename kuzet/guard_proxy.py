"""The browser's network guard: a forward proxy on 127.0.0.1 that Chromium uses for
everything it loads (navigation, redirects, subresources, frames, fetches, websockets).

Chromium hands the proxy each host it wants (``CONNECT host:port`` for HTTPS and
websockets, an absolute URI for plain HTTP). The proxy resolves the host once, checks every
address with :mod:`kuzet.netguard` under the capture's :class:`NetworkPolicy`, and connects
to the checked address itself: the browser never resolves a name, so DNS that answers
differently a second time (rebinding) reaches nothing new. A refused tunnel gets
``403 Forbidden``; a refused plain HTTP request gets its connection closed unanswered, so
nothing the guard says is ever recorded as if the site had said it. Every refusal is kept
(URL, host, address, reason, time) for the capture's metadata.

One proxy serves one browser context (one capture, or one rendered crawl context), so its
refusals are that context's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from kuzet.netguard import NetworkPolicy, Refusal, host_key, normal_host, resolve, url_host

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_HEAD = 256 * 1024  # request or response head (Chromium allows 256 KiB of headers)
MAX_REFUSALS = 500  # kept in the metadata; the count is always exact
_HOP_HEADERS = {"proxy-connection", "proxy-authorization", "connection", "keep-alive"}
_FORBIDDEN = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n"
    b"X-Kuzet-Guard: refused\r\n\r\n"
)
_BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class GuardProxy:
    """Start with ``await start()`` (or ``async with``); give the browser
    :meth:`browser_proxy`; read :attr:`refusals` and :meth:`metadata` afterwards."""

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        resolver: Resolver = resolve,
        connect_timeout_s: float = 15.0,
    ) -> None:
        self.policy = policy
        self.refusals: list[Refusal] = []
        self.refused = 0
        # Hosts that did not resolve or answer (as Chromium would have named the error).
        self.failures: list[dict[str, str]] = []
        # host:port -> the address the proxy connected to (the server's, for the record)
        self.peers: dict[str, str] = {}
        self._resolver = resolver
        self._connect_timeout_s = connect_timeout_s
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[Any]] = set()
        self._open: set[asyncio.StreamWriter] = set()  # both ends of every connection

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Connections still open end as if the browser had hung up (a cancelled
        # handler is logged as an error by asyncio's stream server).
        for writer in list(self._open):
            writer.transport.abort()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=5)
        for task in list(self._clients):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> GuardProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "proxy not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser_proxy(self) -> dict[str, str]:
        """Playwright's ``proxy`` option. ``<-loopback>`` takes back Chromium's implicit
        bypass of localhost/127.0.0.1/[::1]: loopback goes through the guard too."""
        return {"server": self.server, "bypass": "<-loopback>"}

    def peer(self, url: str) -> str | None:
        """The address the proxy connected to for ``url``'s host and port."""
        return self.peers.get(host_key(*url_host(url)))

    def refused_url(self, url: str) -> Refusal | None:
        """The refusal of ``url``'s host and port, if there was one."""
        key = host_key(*url_host(url))
        return next((r for r in self.refusals if host_key(r.host, r.port) == key), None)

    def metadata(self) -> dict[str, Any]:
        return {
            "mode": "guarded",
            **self.policy.describe(),
            "refused": self.refused,
            "refusals": [r.as_dict() for r in self.refusals],
            "connection_errors": self.failures,
        }

    # ------------------------------------------------------------------ serving

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        self._open.add(writer)
        try:
            await self._one(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # a client gone or talking nonsense: nothing reached anyone
        finally:
            if task is not None:
                self._clients.discard(task)
            self._open.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, *headers = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = line.split(" ", 2)
        tunnel = method.upper() == "CONNECT"
        if tunnel:
            host, _, port_text = target.rpartition(":")
            host, port, url = normal_host(host), int(port_text), target
        else:
            parts = urlsplit(target)
            if not parts.scheme or not parts.hostname:
                raise ValueError("not an absolute URI")
            (host, port), url = url_host(target), target
        address = await self._admit(url, host, port)
        if address is None:
            if tunnel:
                writer.write(_FORBIDDEN)
                await writer.drain()
            return  # plain HTTP: closed unanswered
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, port, limit=MAX_HEAD), self._connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            self._failed(url, address, _net_error(exc))
            if tunnel:
                writer.write(_BAD_GATEWAY)
                await writer.drain()
            return  # plain HTTP: closed unanswered, as for a refusal
        self.peers[host_key(host, port)] = address
        self._open.add(up_writer)
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
                await _relay(reader, writer, up_reader, up_writer)
                return
            upgrade = any(h.lower().startswith("upgrade:") for h in headers)
            up_writer.write(_origin_head(method, target, version, headers, upgrade))
            await up_writer.drain()
            await _relay(reader, writer, up_reader, up_writer, close_response=not upgrade)
        finally:
            self._open.discard(up_writer)
            up_writer.close()

    def _failed(self, url: str, address: str, error: str) -> None:
        if len(self.failures) < MAX_REFUSALS:
            self.failures.append({"url": url, "address": address, "error": error})

    async def _admit(self, url: str, host: str, port: int) -> str | None:
        """The checked address to connect to, or None (refusal recorded)."""
        addresses = await self._resolver(host, port)
        if not addresses:
            self._failed(url, "", "net::ERR_NAME_NOT_RESOLVED")
            return None
        refused = self.policy.refusal(host, port, addresses)
        if refused is None:
            return addresses[0]
        address, reason = refused
        self.refused += 1
        if len(self.refusals) < MAX_REFUSALS:
            self.refusals.append(Refusal(url, host, port, address, reason))
        logger.info(
            "Network guard refused %(url)s (%(address)s: %(reason)s)",
            {"url": url, "address": address, "reason": reason},
        )
        return None


def _net_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "net::ERR_CONNECTION_REFUSED"
    if isinstance(exc, TimeoutError):
        return "net::ERR_CONNECTION_TIMED_OUT"
    return f"net::ERR_CONNECTION_FAILED ({exc})"


def _origin_head(
    method: str, target: str, version: str, headers: list[str], upgrade: bool
) -> bytes:
    """The request as the origin server gets it: origin-form target, no proxy headers;
    one request per connection unless it is a websocket upgrade."""
    parts = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [
        h
        for h in headers
        if h.split(":", 1)[0].strip().lower() not in _HOP_HEADERS
        or (upgrade and h.split(":", 1)[0].strip().lower() == "connection")
    ]
    if not upgrade:
        kept.append("Connection: close")
    return "\r\n".join([f"{method} {path} {version}", *kept, "", ""]).encode("latin-1")


async def _relay(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    *,
    close_response: bool = False,
) -> None:
    """Copy both ways until the server is done. With ``close_response`` the response head
    says ``Connection: close``, so the browser never sends another host's request down a
    connection that leads to this one."""

    async def upstream() -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

    async def downstream() -> None:
        if close_response:
            with contextlib.suppress(asyncio.IncompleteReadError):
                head = await up_reader.readuntil(b"\r\n\r\n")
                writer.write(_closing(head))
        while data := await up_reader.read(65536):
            writer.write(data)
            await writer.drain()

    sending = asyncio.create_task(upstream())
    try:
        await downstream()
        await writer.drain()
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending


def _closing(head: bytes) -> bytes:
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]] + [
        h
        for h in lines[1:]
        if h.split(b":", 1)[0].strip().lower().decode("latin-1") not in (_HOP_HEADERS)
    ]
    return b"\r\n".join([*kept, b"Connection: close", b"", b""])


class ThreadedGuardProxy:
    """A :class:`GuardProxy` on an event loop of its own, in a daemon thread: for a
    process whose browser is driven from elsewhere (the rendered crawl's Scrapy)."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="kuzet-guard-proxy", daemon=True
        )
        self._thread.start()
        self.proxy = GuardProxy(policy)
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(timeout=10)

    def browser_proxy(self) -> dict[str, str]:
        return self.proxy.browser_proxy()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


# ---------------------------------------------------------------- for a capture


async def start_guard(upstream_proxy: str | None, policy: NetworkPolicy) -> GuardProxy | None:
    """The started guard of one browser context, or None when the source's own proxy
    connects for it (the guard is then delegated to that proxy, as in the crawler)."""
    if upstream_proxy:
        return None
    guard = GuardProxy(policy)
    await guard.start()
    return guard


async def close_guard(guard: GuardProxy | None) -> None:
    if guard is not None:
        await guard.close()


def load_error(guard: GuardProxy | None, message: str) -> str:
    """Why the page did not load: through the guard, the browser only sees the proxy
    fail, so what the guard refused, or could not connect to, is the reason."""
    if guard is None:
        return message
    said = [
        f"refused by the network guard: {r.url} ({r.address}: {r.reason})" for r in guard.refusals
    ]
    said += [f"{f['error']} at {f['url']}" for f in guard.failures]
    if not said:
        return message
    browser = message.removeprefix("page did not load: ")
    return f"page did not load: {'; '.join(said[:3])} (browser: {browser})"


def pin_addresses(guard: GuardProxy | None, exchanges: list[Any]) -> None:
    """Through the guard the browser only ever sees the proxy's address: each recorded
    exchange gets the address the guard really connected to for its host."""
    if guard is None:
        return
    for ex in exchanges:
        ex.ip = guard.peer(ex.url) if urlsplit(ex.url).scheme in ("http", "https") else None


def guard_metadata(guard: GuardProxy | None, upstream_proxy: str | None) -> dict[str, Any]:
    if guard is None:
        return {
            "mode": "delegated",
            "note": "the source's own proxy resolves and connects; its policy applies",
            "upstream_proxy": bool(upstream_proxy),
        }
    return guard.metadata()
