"""Capture backends: load a URL in a browser and return its evidence files."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

import kuzet
from evidence.browser import launch
from evidence.chromium import sandbox_decision
from evidence.recorder import NetworkRecorder
from evidence.screenshots import (
    VIEWPORT,
    ArtifactData,
    full_page_screenshot,
    outline_passages,
    screenshot,
)
from evidence.warc import build_wacz, build_warc
from kuzet.config import Settings
from kuzet.guard_proxy import (
    close_guard,
    guard_metadata,
    load_error,
    pin_addresses,
    start_guard,
)
from kuzet.netguard import NetworkPolicy
from kuzet.redact import browser_proxy, redact_url


class CaptureError(RuntimeError):
    """The page could not be captured; the message is stored as the capture's error.
    ``transient``: worth another attempt later (a time-out), not a fact about the page."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class CaptureOptions:
    """How to reach the page (the source's proxy and saved login, if any) and what to
    point at: ``highlight`` lists the matched passages to outline on the page."""

    proxy: str | None = None
    storage_state: str | None = None
    highlight: tuple[str, ...] = ()
    # Hosts the page may reach though private (``host:port``, kuzet.netguard): a source's
    # own host when it allows private addresses; nothing else.
    private_hosts: tuple[str, ...] = ()


@dataclass
class CaptureOutput:
    final_url: str
    http_status: int | None
    server_ip: str | None
    protocol: str | None
    browser_version: str
    user_agent: str
    artifacts: list[ArtifactData] = field(default_factory=list)
    # Everything else a court may ask about: redirect chain, headers, TLS, timings, ...
    metadata: dict[str, Any] = field(default_factory=dict)


class CaptureBackend(ABC):
    """Produces the evidence of one URL.

    ``start`` is awaited once before any capture and may raise (the caller then records
    every pending capture as failed with that reason). ``capture`` returns a
    :class:`CaptureOutput` holding at least a ``screenshot_full`` PNG and the load's
    ``metadata``, or raises :class:`CaptureError` (``transient`` when another attempt
    later may succeed); it may be called concurrently. ``alive`` turns False when the
    browser behind it died; ``restart`` then replaces it. ``close`` releases everything.
    """

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def capture(
        self, url: str, options: CaptureOptions = CaptureOptions()
    ) -> CaptureOutput: ...

    @abstractmethod
    async def close(self) -> None: ...

    @property
    def alive(self) -> bool:
        """False once the browser behind it has died (its captures are then retried)."""
        return True

    async def restart(self) -> None:
        """Replace a dead browser with a new one."""
        await self.close()
        await self.start()


def describe_protocol(url: str, http_version: str | None) -> str | None:
    """Protocol as Form 2 lists it: the scheme, plus the HTTP version when known."""
    scheme = urlsplit(url).scheme.upper()
    if not scheme:
        return http_version
    version = (http_version or "").upper().replace("H2", "HTTP/2").replace("H3", "HTTP/3")
    if scheme == "HTTP":
        return version or "HTTP"
    return f"{scheme}, {version}" if version else scheme


class PlaywrightBackend(CaptureBackend):
    """One long-lived Chromium; a fresh context per capture."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pw: Playwright | None = None
        self._browser: Browser | None = None

    async def start(self) -> None:
        self._pw = await async_playwright().start()
        try:
            self._browser = await launch(self._pw, self.settings)
        except BaseException:
            await self._pw.stop()
            self._pw = None
            raise

    async def close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):  # already gone if it crashed
                await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()
        self._browser = self._pw = None

    @property
    def alive(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def capture(self, url: str, options: CaptureOptions = CaptureOptions()) -> CaptureOutput:
        if self._browser is None:
            raise CaptureError("capture backend not started")
        timeout_ms = self.settings.capture_timeout_s * 1000
        extra: dict[str, Any] = {}
        if options.proxy:
            extra["proxy"] = browser_proxy(options.proxy)  # credentials as Chromium takes them
        if options.storage_state:
            extra["storage_state"] = options.storage_state
        # Every request of the context goes through the network guard (unless the
        # source's own proxy connects for it).
        policy = NetworkPolicy.of((*options.private_hosts, *self.settings.capture_allow_private))
        guard = await start_guard(options.proxy, policy)
        if guard is not None:
            extra["proxy"] = guard.browser_proxy()
        started = datetime.now(UTC)
        try:
            context = await self._browser.new_context(
                viewport=VIEWPORT,
                accept_downloads=False,
                ignore_https_errors=True,
                locale="ru-RU",
                service_workers="block",  # every response must go through the recorder
                **extra,
            )
        except BaseException:
            await close_guard(guard)
            raise
        try:
            page = await context.new_page()
            page.set_default_timeout(timeout_ms)
            notes: list[str] = []
            page.on("dialog", lambda d: _later(d.dismiss(), notes, f"dialog dismissed: {d.type}"))
            page.on("popup", lambda p: _later(p.close(), notes, f"pop-up closed: {p.url}"))
            page.on("download", lambda d: notes.append(f"download refused: {d.url}"))
            recorder = NetworkRecorder(await context.new_cdp_session(page))
            await recorder.start()
            try:
                response = await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
            except PlaywrightTimeout as exc:
                message = f"page did not load: {exc}".splitlines()[0]
                raise CaptureError(message, transient=True) from exc
            except Exception as exc:
                message = f"page did not load: {exc}".splitlines()[0]
                raise CaptureError(load_error(guard, message)) from exc
            if response is None:
                raise CaptureError("no response for the main document")
            load_complete = True
            try:
                await page.wait_for_load_state("load", timeout=min(timeout_ms / 2, 15_000))
            except PlaywrightTimeout:
                load_complete = False  # still loading: capture what is there, and say so
                notes.append("the page had not finished loading when captured")
            cap = self.settings.capture_max_height
            server = await response.server_addr()
            user_agent, title = await page.evaluate(
                "document.fonts.ready.then(() => [navigator.userAgent, document.title])"
            )
            try:
                viewport_png = await screenshot(recorder.cdp, timeout_ms)
                height, full_png = await full_page_screenshot(page, recorder.cdp, cap, timeout_ms)
            except Exception as exc:
                raise CaptureError(f"screenshot failed: {exc}".splitlines()[0]) from exc
            html = (await page.content()).encode("utf-8")
            final_url = page.url
            artifacts = [
                ArtifactData("screenshot_full", "image/png", full_png),
                ArtifactData("screenshot_viewport", "image/png", viewport_png),
                ArtifactData("html_rendered", "text/html; charset=utf-8", html),
            ]
            if self.settings.capture_pdf:
                artifacts.append(ArtifactData("pdf", "application/pdf", await page.pdf()))
            highlight = await outline_passages(page, recorder.cdp, options.highlight, timeout_ms)
            artifacts += highlight.artifacts
            await recorder.finish(timeout_s=min(10.0, self.settings.capture_timeout_s / 2))
            main = recorder.main
            if main is not None and main.body is not None:
                # Never the page's own Content-Type (kept as data in response_headers):
                # the stored type is kuzet's, from the bytes (evidence.sniff).
                artifacts.append(
                    ArtifactData("response_body", "application/octet-stream", main.body)
                )
            finished = datetime.now(UTC)
            browser_version = f"Chromium {self._browser.version}"
            software = f"kuzet {kuzet.__version__}; {browser_version}"
            pin_addresses(guard, recorder.exchanges)
            warc = build_warc(
                recorder.exchanges,
                software=software,
                info={"isPartOf": url, "http-header-user-agent": user_agent},
            )
            artifacts.append(ArtifactData("warc", "application/warc", warc))
            try:
                # The page entry must name the response record's own time.
                page_at = next(
                    (e.at for e in reversed(recorder.exchanges) if e.url == final_url and e.status),
                    started,
                )
                wacz = build_wacz(warc, url=final_url, at=page_at, title=title)
                artifacts.append(ArtifactData("wacz", "application/wacz+zip", wacz))
            except Exception as exc:  # the WARC itself is kept; the gap is on record
                notes.append(f"WACZ not built: {exc}")
            main_headers = main.response_headers if main else {}
            metadata: dict[str, Any] = {
                "requested_url": url,
                "final_url": final_url,
                "redirect_chain": recorder.redirect_chain(),
                "http_status": response.status,
                "response_headers": main_headers,
                "server_ips": sorted({e.ip for e in recorder.exchanges if e.ip}),
                "server_ip": (
                    guard.peer(final_url) if guard else (server["ipAddress"] if server else None)
                ),
                "protocol": describe_protocol(final_url, main.http_version if main else None),
                "tls": await recorder.tls(),
                "title": title,
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat(),
                "load_complete": load_complete,
                "page_height": height,
                "screenshot_height": min(height, cap),
                "height_capped": height > cap,
                "viewport": VIEWPORT,
                "highlight": highlight.summary,
                "requests": len(recorder.exchanges),
                "failed_requests": recorder.failed[:100],
                "notes": notes,
                "software": {"kuzet": kuzet.__version__, "browser": browser_version},
                # The same decision the browser was launched with (made once a process).
                "browser_sandbox": sandbox_decision(self.settings.chromium_sandbox).as_metadata(),
                "user_agent": user_agent,
                "proxy": redact_url(options.proxy),  # no password in evidence
                "network_guard": guard_metadata(guard, options.proxy),
            }
            return CaptureOutput(
                final_url=final_url,
                http_status=response.status,
                server_ip=metadata["server_ip"],
                protocol=metadata["protocol"],
                browser_version=browser_version,
                user_agent=user_agent,
                artifacts=artifacts,
                metadata=metadata,
            )
        finally:
            await context.close()
            await close_guard(guard)


_PENDING: set[asyncio.Future[Any]] = set()


def _later(coro: Any, notes: list[str], note: str) -> None:
    """Run a page event's answer (dismiss, close) without blocking the event; noted."""
    notes.append(note)
    task = asyncio.ensure_future(coro)
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)
