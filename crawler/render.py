"""Fetching through the browser (scrapy-playwright on Debian's Chromium) for sources whose
pages are built by JavaScript, that need a SOCKS proxy, or both.

Every browser context reaches the network through the guard proxy of its source's policy
(:mod:`kuzet.guard_proxy`): what a rendered page loads, frames, fetches or is redirected
to obeys the same network guard as the crawler's own requests. A source with its own proxy
is left to that proxy, as in the crawler.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

from evidence.chromium import launch_options, sandbox_decision
from kuzet.guard_proxy import ThreadedGuardProxy
from kuzet.netguard import NetworkPolicy
from kuzet.redact import browser_proxy

HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"


def needs_browser(render: bool, proxy: str | None) -> bool:
    # Scrapy's downloader speaks HTTP proxies only; the browser speaks SOCKS too.
    return render or bool(proxy and urlsplit(proxy).scheme.startswith("socks"))


# One guard proxy per policy in a crawl process, each on a thread of its own (Scrapy
# drives the browser; the proxy must not depend on whose event loop that is).
_GUARDS: dict[NetworkPolicy, ThreadedGuardProxy] = {}
_GUARDS_LOCK = threading.Lock()


def guard_proxy(policy: NetworkPolicy) -> dict[str, str]:
    """Playwright's ``proxy`` option for the guard of ``policy`` (started at first use)."""
    with _GUARDS_LOCK:
        if policy not in _GUARDS:
            _GUARDS[policy] = ThreadedGuardProxy(policy)
        return _GUARDS[policy].browser_proxy()


def guard_peer(policy: NetworkPolicy, url: str) -> str | None:
    """The address this process's browser guard of ``policy`` connected to for ``url``."""
    with _GUARDS_LOCK:
        guard = _GUARDS.get(policy)
    return guard.proxy.peer(url) if guard is not None else None


def guard_refusals(policy: NetworkPolicy) -> tuple[int, list[dict[str, Any]]]:
    """How many requests this process's browser guard of ``policy`` refused, and the
    first of them (url, host, address, reason, time)."""
    with _GUARDS_LOCK:
        guard = _GUARDS.get(policy)
    if guard is None:
        return 0, []
    return guard.proxy.refused, [r.as_dict() for r in guard.proxy.refusals[:50]]


def context_options(
    *,
    proxy: str | None,
    storage_state: str | dict[str, Any] | None,
    private_hosts: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The browser context of a source: its proxy (else the network guard, admitting
    ``private_hosts`` though private) and login profile (a path or the profile itself)."""
    context: dict[str, Any] = {
        "viewport": {"width": 1366, "height": 900},
        "locale": "ru-RU",
        "java_script_enabled": True,
        "accept_downloads": False,
        # A service worker would answer the context's later loads of its site itself.
        "service_workers": "block",
    }
    if proxy:
        context["proxy"] = browser_proxy(proxy)  # credentials as Chromium takes them
    else:
        context["proxy"] = guard_proxy(NetworkPolicy.of(private_hosts))
    if storage_state:
        context["storage_state"] = storage_state
    return context


def launch_settings(*, chromium: str, home: str, sandbox: str = "auto") -> dict[str, Any]:
    """Scrapy settings that let a crawler fetch through Chromium: requests marked
    ``playwright`` go to the browser (launched at the first of them), the others to
    Scrapy's own downloader. ``sandbox``: KUZET_CHROMIUM_SANDBOX (evidence/chromium.py)."""
    browser_home = os.path.join(home or ".", "browser")
    os.makedirs(browser_home, exist_ok=True)
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": chromium,
            **launch_options(sandbox_decision(sandbox)),
            # A context opened without a proxy of its own still reaches nothing private.
            "proxy": guard_proxy(NetworkPolicy()),
            "headless": True,
            "env": {**os.environ, "HOME": browser_home},
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
    }


def browser_settings(
    *,
    chromium: str,
    home: str,
    proxy: str | None,
    storage_state: str | None,
    sandbox: str = "auto",
    private_hosts: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Scrapy settings that route a crawler's downloads through Chromium."""
    context = context_options(proxy=proxy, storage_state=storage_state, private_hosts=private_hosts)
    return {
        **launch_settings(chromium=chromium, home=home, sandbox=sandbox),
        "PLAYWRIGHT_CONTEXTS": {"kuzet": context},
        # A rendered page costs a browser tab: fewer at once.
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    }


async def close_context(crawler: Any, name: str) -> int:
    """Close the browser context ``name`` wherever the crawler's browser handlers (one per
    URL scheme) have it open; how many were. For a distributed worker's context of a run
    that is over. Relies on scrapy-playwright keeping its contexts in ``context_wrappers``
    (0.0.48, pinned); each handler forgets a context when it closes."""
    handlers = getattr(crawler.engine.downloader.handlers, "_handlers", {})
    closed = 0
    for handler in list(handlers.values()):
        wrapper = getattr(handler, "context_wrappers", {}).get(name)
        if wrapper is not None:
            await wrapper.context.close()
            closed += 1
    return closed
