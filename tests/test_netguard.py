"""The network guard: which addresses are forbidden, whose hosts may be private, and the
browser proxy's pinning (it connects to the address it checked, never to a second lookup)."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from kuzet.guard_proxy import GuardProxy
from kuzet.netguard import NetworkPolicy, forbidden_reason, is_public, own_hosts
from tests.webserver import Route, WebServer, html


def server_on(address: str, routes: dict[str, Route], port: int = 0) -> WebServer:
    """A test web server on another loopback address (127.0.0.0/8 all answers on Linux)."""
    web = WebServer(routes)
    handler = web.httpd.RequestHandlerClass
    web.httpd.server_close()
    cls = ThreadingHTTPServer
    if ":" in address:
        cls = type("V6Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    web.httpd = cls((address, port), handler)
    web.httpd.daemon_threads = True
    shown = f"[{address}]" if ":" in address else address
    web.url = f"http://{shown}:{web.httpd.server_address[1]}"
    return web


FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("100.64.0.1", "shared address space"),
    ("198.18.0.1", "benchmarking"),
    ("0.0.0.0", "this network"),
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.1", "not globally routable"),  # documentation
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("ff02::1", "multicast"),
    # IPv6 forms that reach IPv4 behind the routing table's back
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),  # never a real DNS answer
    ("::127.0.0.1", "IPv4-compatible"),
    ("::808:808", "IPv4-compatible"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1: loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 of 127.0.0.1: loopback"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1: private"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:db8::1", "not globally routable"),
]


@pytest.mark.parametrize(("ip", "reason"), FORBIDDEN)
def test_forbidden_addresses_and_why(ip: str, reason: str) -> None:
    assert not is_public(ip)
    assert reason in (forbidden_reason(ip) or "")


@pytest.mark.parametrize(
    "ip",
    ["8.8.8.8", "93.184.216.34", "2a00:1450:4001:82a::200e", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_pass(ip: str) -> None:
    # NAT64 and 6to4 of a public IPv4 address are how IPv6-only networks reach it.
    assert is_public(ip), forbidden_reason(ip)


def test_every_address_of_a_host_is_checked() -> None:
    policy = NetworkPolicy()
    assert policy.refusal("mixed.example", 80, ["8.8.8.8", "10.0.0.1"]) == ("10.0.0.1", "private")
    assert policy.refusal("public.example", 80, ["8.8.8.8", "2a00:1450::1"]) is None


def test_a_source_allows_its_own_host_and_port_only() -> None:
    policy = NetworkPolicy.for_source("http://127.0.0.1:8000/start", allow_private=True)
    assert own_hosts("https://Intranet.Example./x") == ("intranet.example:443",)
    assert policy.allows_private("127.0.0.1", 8000)
    assert not policy.allows_private("127.0.0.1", 6379)  # another service of that machine
    assert not policy.allows_private("127.0.0.2", 8000)
    assert policy.refusal("127.0.0.1", 6379, ["127.0.0.1"]) == ("127.0.0.1", "loopback")
    closed = NetworkPolicy.for_source("http://127.0.0.1:8000/start", allow_private=False)
    assert not closed.allows_private("127.0.0.1", 8000)
    # An operator's entry without a port names every port of that host.
    assert NetworkPolicy.of(["[::1]", "intranet:8080"]).allows_private("::1", 1)
    assert not NetworkPolicy.of(["intranet:8080"]).allows_private("intranet", 80)


def _fetch_through(proxy: GuardProxy, url: str) -> tuple[int, bytes] | str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.server}))
    try:
        with opener.open(url, timeout=10) as reply:
            return reply.status, reply.read()
    except OSError as exc:
        return type(exc).__name__


def test_the_proxy_connects_to_the_address_it_checked(settings) -> None:
    """DNS rebinding: the guard's lookup said 127.0.0.2 (allowed for this host); a second
    lookup (the system's, of ``localhost``) would say 127.0.0.1, where another service
    listens on the same port. The request must reach the checked address."""
    checked = server_on("127.0.0.2", {"/": html("<p>checked</p>")})
    port = checked.httpd.server_address[1]
    other = server_on("127.0.0.1", {"/": html("<p>rebound</p>")}, port=port)
    lookups: list[str] = []

    async def resolver(host: str, p: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.2"]

    async def main() -> tuple[int, bytes] | str:
        policy = NetworkPolicy.of([f"localhost:{port}"])
        async with GuardProxy(policy, resolver=resolver) as proxy:
            got = await asyncio.to_thread(_fetch_through, proxy, f"http://localhost:{port}/")
            assert proxy.peer(f"http://localhost:{port}/x") == "127.0.0.2"
            return got

    with checked, other:
        got = asyncio.run(main())
    assert isinstance(got, tuple) and b"checked" in got[1]
    assert lookups == ["localhost"]
    assert checked.page_hits() == {"/": 1} and other.page_hits() == {}


def test_the_proxy_refuses_a_forbidden_host_and_records_it(settings) -> None:
    internal = server_on("127.0.0.2", {"/secret": html("<p>secret</p>")})

    async def main() -> tuple[object, GuardProxy]:
        async with GuardProxy(NetworkPolicy()) as proxy:
            got = await asyncio.to_thread(_fetch_through, proxy, internal.url + "/secret")
        return got, proxy

    with internal:
        got, proxy = asyncio.run(main())
    assert not isinstance(got, tuple)  # no answer at all: nothing the guard says is content
    assert internal.hits == {}
    (refusal,) = proxy.refusals
    assert refusal.url == internal.url + "/secret"
    assert (refusal.address, refusal.reason) == ("127.0.0.2", "loopback")
    assert proxy.metadata()["refused"] == 1
