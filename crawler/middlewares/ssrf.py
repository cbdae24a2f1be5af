"""Refuse requests to private, loopback, link-local and other non-public addresses.

A monitoring crawler follows links chosen by the sites it watches; without this guard a
page could steer it at the agency's own network. The host is resolved before the request
(every address must be public) and the peer address is checked again on the response, so
DNS that changes between the two (rebinding) is caught too. A source opts out with
``allow_private`` (the tests and the demo crawl loopback). Off with ``KUZET_SSRF_ENABLED``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.runs import source_spider

logger = logging.getLogger(__name__)


class BlockedRequest(IgnoreRequest):
    """A request refused for safety; recorded as a failed fetch with this message."""


def is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def _browser_proxied(request: Request) -> bool:
    return bool(request.meta.get("playwright")) and request.meta.get("kuzet_proxied", False)


class SSRFGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("KUZET_SSRF_ENABLED", True):
            raise NotConfigured
        self.crawler = crawler
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        return cls(crawler)

    def _allowed(self, request: Request) -> bool:
        spider = source_spider(self.crawler, request.meta.get("kuzet_run"), request.url)
        return bool(getattr(spider, "allow_private", False))

    async def _resolve(self, host: str) -> list[str]:
        if host not in self._cache:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, None, type=socket.SOCK_STREAM
                )
            except socket.gaierror:
                return []  # let the download fail with the resolver's own error
            self._cache[host] = sorted({info[4][0] for info in infos})
        return self._cache[host]

    def process_request(self, request: Request) -> Any:
        # Synchronous on the hot path (IP literals, hosts already resolved): an async method
        # would cost every request a task. Only a host seen for the first time is awaited.
        if self._allowed(request) or request.meta.get("proxy") or _browser_proxied(request):
            return None  # a proxy connects for us; its own policy applies
        host = urlsplit(request.url).hostname or ""
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if host not in self._cache:
                return self._check_after_resolving(host)
            addresses = self._cache[host]
        self._check(host, addresses)
        return None

    async def _check_after_resolving(self, host: str) -> None:
        self._check(host, await self._resolve(host))

    def _check(self, host: str, addresses: list[str]) -> None:
        for ip in addresses:
            if not is_public(ip):
                self.crawler.stats.inc_value("kuzet/ssrf/blocked")
                raise BlockedRequest(f"blocked: {host} is a non-public address ({ip})")

    def process_response(self, request: Request, response: Response) -> Any:
        if self._allowed(request) or request.meta.get("proxy") or _browser_proxied(request):
            return response
        ip = response.ip_address
        if ip is not None and not is_public(str(ip)):
            self.crawler.stats.inc_value("kuzet/ssrf/blocked")
            raise BlockedRequest(f"blocked: {urlsplit(request.url).hostname} answered from {ip}")
        return response
