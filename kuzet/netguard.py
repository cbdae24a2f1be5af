"""The network guard shared by the crawler and the browser: which addresses kuzet may reach.

A monitoring engine fetches what hostile pages point it at; without a guard a page could
steer it at the agency's own network (loopback services, the intranet, a cloud metadata
endpoint). Every host is resolved once, *all* its addresses are checked, and the caller
connects to a checked address (never resolving again: DNS rebinding gains nothing).

Forbidden: every address that is not globally routable (loopback, private, link-local and
with it the 169.254.169.254 metadata service, shared 100.64/10, benchmarking 198.18/15,
documentation, reserved, broadcast, 0.0.0.0/8, unspecified), multicast, and IPv6 forms that
reach IPv4 behind the routing table's back: IPv4-mapped (``::ffff:a.b.c.d``),
IPv4-compatible (``::a.b.c.d``), Teredo and local-use NAT64 (``64:ff9b:1::/48``); the
well-known NAT64 prefix (``64:ff9b::/96``) and 6to4 (``2002::/16``) are judged by the IPv4
address they embed.

A :class:`NetworkPolicy` names the hosts allowed to be private anyway. A source that sets
``allow_private`` allows its *own* host only: the host and port of its start URL (one
machine serves many services on one address, so the port is part of the host), never a host
its pages link, redirect or frame to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

_V4_RANGES = [
    (ipaddress.ip_network("0.0.0.0/8"), "'this network' (0.0.0.0/8)"),
    (ipaddress.ip_network("127.0.0.0/8"), "loopback"),
    (ipaddress.ip_network("10.0.0.0/8"), "private"),
    (ipaddress.ip_network("172.16.0.0/12"), "private"),
    (ipaddress.ip_network("192.168.0.0/16"), "private"),
    (ipaddress.ip_network("100.64.0.0/10"), "shared address space (100.64/10)"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local (cloud metadata)"),
    (ipaddress.ip_network("198.18.0.0/15"), "benchmarking (198.18/15)"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast"),
    (ipaddress.ip_network("240.0.0.0/4"), "reserved"),
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_V6_RANGES = [
    (ipaddress.ip_network("::1/128"), "loopback"),
    (ipaddress.ip_network("::/128"), "unspecified"),
    (ipaddress.ip_network("fe80::/10"), "link-local"),
    (ipaddress.ip_network("fec0::/10"), "site-local"),
    (ipaddress.ip_network("fc00::/7"), "unique local (private)"),
    (ipaddress.ip_network("ff00::/8"), "multicast"),
]


class GuardError(RuntimeError):
    """A host kuzet refuses to reach (or could not resolve); the message says why."""


def _v4_reason(addr: ipaddress.IPv4Address) -> str | None:
    for net, reason in _V4_RANGES:
        if addr in net:
            return reason
    if not addr.is_global:
        return "not globally routable"
    return None


def _v6_reason(addr: ipaddress.IPv6Address) -> str | None:
    if addr.ipv4_mapped is not None:
        return f"IPv4-mapped IPv6 address (of {addr.ipv4_mapped})"
    if addr in _NAT64_LOCAL:
        return "local-use NAT64 prefix (64:ff9b:1::/48)"
    if addr in _NAT64:
        inner = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        reason = _v4_reason(inner)
        return f"NAT64 of {inner}: {reason}" if reason else None
    if addr.teredo is not None:
        return "Teredo tunnel address"
    if addr.sixtofour is not None:
        reason = _v4_reason(addr.sixtofour)
        return f"6to4 of {addr.sixtofour}: {reason}" if reason else None
    for net, reason in _V6_RANGES:
        if addr in net:
            return reason
    if addr in _V4_COMPATIBLE:
        return f"IPv4-compatible IPv6 address (of {ipaddress.IPv4Address(int(addr))})"
    if not addr.is_global:
        return "not globally routable"
    return None


def forbidden_reason(ip: str) -> str | None:
    """Why ``ip`` must not be reached, or None when it is a public address."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv4Address):
        return _v4_reason(addr)
    return _v6_reason(addr)


def is_public(ip: str) -> bool:
    return forbidden_reason(ip) is None


def normal_host(host: str) -> str:
    """A host as the guard compares it: lower case, no IPv6 brackets, no trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def host_key(host: str, port: int | None) -> str:
    host = normal_host(host)
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def url_host(url: str) -> tuple[str, int]:
    """The host and port (the scheme's default when none is given) of ``url``."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 80)
    return normal_host(parts.hostname or ""), port


@dataclass(frozen=True)
class NetworkPolicy:
    """Hosts allowed to be private: ``host:port`` entries (one service), or a bare
    ``host`` (every port of it, for an operator's setting). Everything else must be
    public."""

    private_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, entries: tuple[str, ...] | list[str] = ()) -> NetworkPolicy:
        return cls(frozenset(_normal_entry(e) for e in entries if e.strip()))

    @classmethod
    def for_source(
        cls, start_url: str | None, allow_private: bool, extra: tuple[str, ...] = ()
    ) -> NetworkPolicy:
        """A source's policy: with ``allow_private``, its own host (its start URL's)."""
        own = own_hosts(start_url) if allow_private and start_url else ()
        return cls.of((*own, *extra))

    def allows_private(self, host: str, port: int) -> bool:
        host = normal_host(host)
        return host_key(host, port) in self.private_hosts or host_key(host, None) in (
            self.private_hosts
        )

    def refusal(self, host: str, port: int, addresses: list[str]) -> tuple[str, str] | None:
        """The first forbidden address of ``host`` and why, or None when it may be reached.
        Every address must pass: a host is refused when any of them is forbidden."""
        if not addresses:
            return "", "does not resolve"
        if self.allows_private(host, port):
            return None
        for ip in addresses:
            reason = forbidden_reason(ip)
            if reason is not None:
                return ip, reason
        return None

    def describe(self) -> dict[str, Any]:
        return {"private_hosts_allowed": sorted(self.private_hosts)}


def _normal_entry(entry: str) -> str:
    entry = entry.strip()
    if "://" in entry:
        return host_key(*url_host(entry))
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and (not host.count(":") or host.endswith("]")):
        return host_key(host, int(port))
    return host_key(entry, None)


def own_hosts(start_url: str) -> tuple[str, ...]:
    """The hosts a source owns: its start URL's host and port."""
    host, port = url_host(start_url)
    return (host_key(host, port),) if host else ()


def literal(host: str) -> str | None:
    """``host`` itself when it is an IP address literal."""
    try:
        return str(ipaddress.ip_address(normal_host(host)))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address of ``host`` (once; the caller connects to one of these)."""
    ip = literal(host)
    if ip is not None:
        return [ip]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            normal_host(host), port, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Refusal:
    """One request the guard refused: what, where it pointed, why, when."""

    url: str
    host: str
    port: int
    address: str
    reason: str
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "host": host_key(self.host, self.port),
            "address": self.address,
            "reason": self.reason,
            "at": self.at,
        }
