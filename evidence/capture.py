"""Capture backends: load a URL in a browser and return its evidence files."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Playwright, async_playwright

from evidence.browser import launch
from kuzet.config import Settings

VIEWPORT = {"width": 1366, "height": 900}


class CaptureError(RuntimeError):
    """The page could not be captured; the message is stored as the capture's error."""


@dataclass
class ArtifactData:
    kind: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class CaptureOptions:
    """How to reach the page: the source's proxy and saved login, if any."""

    proxy: str | None = None
    storage_state: str | None = None


@dataclass
class CaptureOutput:
    final_url: str
    http_status: int | None
    server_ip: str | None
    protocol: str | None
    browser_version: str
    user_agent: str
    artifacts: list[ArtifactData] = field(default_factory=list)


class CaptureBackend(ABC):
    """Produces the evidence of one URL.

    ``start`` is awaited once before any capture and may raise (the caller then records
    every pending capture as failed with that reason). ``capture`` returns a
    :class:`CaptureOutput` holding at least a ``screenshot_full`` PNG, or raises
    :class:`CaptureError`; it may be called concurrently. ``close`` releases everything.
    """

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def capture(
        self, url: str, options: CaptureOptions = CaptureOptions()
    ) -> CaptureOutput: ...

    @abstractmethod
    async def close(self) -> None: ...


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
            await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()
        self._browser = self._pw = None

    async def capture(self, url: str, options: CaptureOptions = CaptureOptions()) -> CaptureOutput:
        if self._browser is None:
            raise CaptureError("capture backend not started")
        timeout_ms = self.settings.capture_timeout_s * 1000
        extra: dict[str, Any] = {}
        if options.proxy:
            extra["proxy"] = {"server": options.proxy}
        if options.storage_state:
            extra["storage_state"] = options.storage_state
        context = await self._browser.new_context(
            viewport=VIEWPORT,
            accept_downloads=False,
            ignore_https_errors=True,
            locale="ru-RU",
            **extra,
        )
        try:
            page = await context.new_page()
            page.set_default_timeout(timeout_ms)
            page.on("dialog", lambda d: asyncio.ensure_future(d.dismiss()))
            page.on("popup", lambda p: asyncio.ensure_future(p.close()))
            versions: dict[str, str] = {}
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.enable")

            def on_response(event: dict[str, Any]) -> None:
                resp = event.get("response", {})
                if resp.get("protocol"):
                    versions.setdefault(resp.get("url", ""), resp["protocol"])

            cdp.on("Network.responseReceived", on_response)
            try:
                response = await page.goto(url, wait_until="load", timeout=timeout_ms)
            except Exception as exc:
                raise CaptureError(f"page did not load: {exc}".splitlines()[0]) from exc
            if response is None:
                raise CaptureError("no response for the main document")
            await page.evaluate("document.fonts.ready.then(() => true)")
            server = await response.server_addr()
            user_agent = await page.evaluate("navigator.userAgent")
            try:
                png = await page.screenshot(full_page=True, type="png", timeout=timeout_ms)
            except Exception as exc:
                raise CaptureError(f"screenshot failed: {exc}".splitlines()[0]) from exc
            html = (await page.content()).encode("utf-8")
            final_url = page.url
            return CaptureOutput(
                final_url=final_url,
                http_status=response.status,
                server_ip=server["ipAddress"] if server else None,
                protocol=describe_protocol(final_url, versions.get(response.url)),
                browser_version=f"Chromium {self._browser.version}",
                user_agent=user_agent,
                artifacts=[
                    ArtifactData("screenshot_full", "image/png", png),
                    ArtifactData("html_rendered", "text/html; charset=utf-8", html),
                ],
            )
        finally:
            await context.close()
