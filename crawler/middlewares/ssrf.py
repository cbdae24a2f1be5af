"""Refuse requests to private, loopback, link-local and other non-public addresses.

A monitoring crawler follows links chosen by the sites it watches; without this guard a
page could steer it at the agency's own network. The host is resolved before the request
(every address must be public, :mod:`kuzet.netguard` says which are) and the peer address
is checked again on the response, so DNS that changes between the two (rebinding) is
caught too. A source with ``allow_private`` may reach its own host (the host and port of
its start URL) though it is private; any other host it links or redirects to must be
public. Off with ``KUZET_SSRF_ENABLED``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.runs import source_spider
from kuzet.netguard import NetworkPolicy, forbidden_reason, is_public, literal, resolve, url_host

__all__ = ["BlockedRequest", "SSRFGuardMiddleware", "is_public"]

logger = logging.getLogger(__name__)


class BlockedRequest(IgnoreRequest):
    """A request refused for safety; recorded as a failed fetch with this message."""


def _browser_proxied(request: Request) -> bool:
    return bool(request.meta.get("playwright")) and request.meta.get("kuzet_proxied", False)


def _policy_key(spider: Any) -> tuple[str | None, bool]:
    source = getattr(spider, "source", None)
    return getattr(source, "start_url", None), bool(getattr(spider, "allow_private", False))


def spider_policy(spider: Any) -> NetworkPolicy:
    """The network policy of a source's spider: its own host may be private when the
    source allows it."""
    return NetworkPolicy.for_source(*_policy_key(spider))


class SSRFGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("KUZET_SSRF_ENABLED", True):
            raise NotConfigured
        self.crawler = crawler
        self._cache: dict[tuple[str, int], list[str]] = {}
        self._policies: dict[tuple[str | None, bool], NetworkPolicy] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        return cls(crawler)

    def _through_guard(self, request: Request, response: Response) -> Response:
        """A response the browser fetched through its guard (which checked and pinned the
        address): the browser names the guard's own address, so the response gets the
        server's, and what the guard refused for this source so far (a rendered page's
        frames, fetches and redirects never reach this middleware) goes into the stats."""
        from crawler.render import guard_peer, guard_refusals

        policy = self._policy(request)
        refused, first = guard_refusals(policy)
        if refused:
            self.crawler.stats.set_value("kuzet/ssrf/browser_refused", refused)
            self.crawler.stats.set_value("kuzet/ssrf/browser_refusals", first)
        peer = guard_peer(policy, response.url)
        return response.replace(ip_address=ipaddress.ip_address(peer) if peer else None)

    def _policy(self, request: Request) -> NetworkPolicy:
        spider = source_spider(self.crawler, request.meta.get("kuzet_run"), request.url)
        key = _policy_key(spider)
        if key not in self._policies:
            self._policies[key] = NetworkPolicy.for_source(*key)
        return self._policies[key]

    def process_request(self, request: Request) -> Any:
        # Synchronous on the hot path (IP literals, hosts already resolved): an async method
        # would cost every request a task. Only a host seen for the first time is awaited.
        if request.meta.get("proxy") or _browser_proxied(request):
            return None  # a proxy connects for us; its own policy applies
        host, port = url_host(request.url)
        ip = literal(host)
        if ip is not None:
            addresses = [ip]
        elif (host, port) in self._cache:
            addresses = self._cache[(host, port)]
        else:
            return self._check_after_resolving(request, host, port)
        self._check(request, host, port, addresses)
        return None

    async def _check_after_resolving(self, request: Request, host: str, port: int) -> None:
        addresses = await resolve(host, port)
        if addresses:
            self._cache[(host, port)] = addresses
        self._check(request, host, port, addresses)

    def _check(self, request: Request, host: str, port: int, addresses: list[str]) -> None:
        if not addresses:
            return  # let the download fail with the resolver's own error
        refused = self._policy(request).refusal(host, port, addresses)
        if refused is not None:
            self.crawler.stats.inc_value("kuzet/ssrf/blocked")
            raise BlockedRequest(f"blocked: {host} is a non-public address ({refused[0]})")

    def process_response(self, request: Request, response: Response) -> Any:
        if request.meta.get("proxy") or _browser_proxied(request):
            return response
        if request.meta.get("playwright"):
            return self._through_guard(request, response)
        ip = response.ip_address
        if ip is None or is_public(str(ip)):
            return response
        host, port = url_host(request.url)
        if self._policy(request).allows_private(host, port):
            return response
        self.crawler.stats.inc_value("kuzet/ssrf/blocked")
        reason = forbidden_reason(str(ip))
        raise BlockedRequest(f"blocked: {host} answered from {ip} ({reason})")
