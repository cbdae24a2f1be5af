"""Who is really asking: the client address and scheme behind trusted reverse proxies.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the socket peer is
one of ``KUZET_TRUSTED_PROXIES``; the client is then the right-most address of the
chain that is not itself a trusted proxy, so a value the client wrote at the left end
changes nothing. Anything else sees the socket peer and the socket's scheme. ``kuzet
serve`` runs uvicorn without its own proxy-header handling, so this is the one place.

When the request came over HTTPS (directly or as a trusted proxy says) every cookie the
app sets is marked ``Secure``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs (``10.0.0.0/8``, ``::1``); ValueError names a bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"KUZET_TRUSTED_PROXIES: {value!r} is not an address") from exc
    return tuple(out)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    addr = _address(host)
    return bool(addr and addr.is_loopback)


class TrustedProxies:
    """ASGI middleware: rewrites ``client`` and ``scheme`` in the scope from the proxy
    headers of trusted peers only, and marks cookies ``Secure`` on HTTPS."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)

    def _trusted(self, host: str) -> bool:
        addr = _address(host)
        return addr is not None and any(addr in net for net in self.trusted)

    def _resolve(self, scope: Scope) -> None:
        client = scope.get("client")
        if not client or not self.trusted or not self._trusted(client[0]):
            return
        headers = {}
        for name, value in scope["headers"]:
            if name in (b"x-forwarded-for", b"x-forwarded-proto"):
                # Several headers of one name are one comma-separated list.
                old = headers.get(name)
                text = value.decode("latin-1")
                headers[name] = f"{old},{text}" if old else text
        hops = [h.strip() for h in headers.get(b"x-forwarded-for", "").split(",") if h.strip()]
        real = None
        for hop in reversed(hops):
            real = hop
            if not self._trusted(hop):
                break
        if real is not None:
            addr = _address(real)
            scope["client"] = (str(addr) if addr else real[:64], 0)
        proto = headers.get(b"x-forwarded-proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        self._resolve(scope)
        if scope.get("scheme") not in ("https", "wss"):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, _secure(v) if k.lower() == b"set-cookie" else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_secure)


def _secure(cookie: bytes) -> bytes:
    attrs = [a.strip().lower() for a in cookie.split(b";")[1:]]
    return cookie if b"secure" in attrs else cookie + b"; Secure"
