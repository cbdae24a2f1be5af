"""Capture backends: load a URL in a browser and return its evidence files."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from playwright.async_api import Browser, CDPSession, Page, Playwright, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

import kuzet
from evidence.browser import launch
from evidence.chromium import sandbox_decision
from evidence.recorder import NetworkRecorder
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

VIEWPORT = {"width": 1366, "height": 900}


class CaptureError(RuntimeError):
    """The page could not be captured; the message is stored as the capture's error.
    ``transient``: worth another attempt later (a time-out), not a fact about the page."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class ArtifactData:
    kind: str
    media_type: str
    data: bytes


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
                viewport_png = await _png(recorder.cdp, timeout_ms)
                height, full_png = await _full_page(page, recorder.cdp, cap, timeout_ms)
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
            highlight = await _highlight(page, recorder.cdp, options.highlight, timeout_ms)
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


# Wake lazy content in a viewport as tall as the page: lazy images load eagerly, scroll
# and resize listeners and intersection observers fire; then wait (bounded) for images.
_WAKE_JS = """
async () => {
  for (const img of document.images) if (img.loading === 'lazy') img.loading = 'eager';
  window.dispatchEvent(new Event('scroll'));
  window.dispatchEvent(new Event('resize'));
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)));
  const pending = [...document.images].filter(i => !i.complete);
  const loaded = i => new Promise(r => {
    i.addEventListener('load', r, {once: true});
    i.addEventListener('error', r, {once: true});
  });
  await Promise.race([
    Promise.all(pending.map(loaded)),
    new Promise(r => setTimeout(r, 3000)),
  ]);
  const root = document.documentElement;
  return Math.max(root ? root.scrollHeight : 0, document.body ? document.body.scrollHeight : 0);
}
"""
# Any document: HTML, SVG or XML (no body), even one whose script removed its root.
_HEIGHT_JS = (
    "Math.max(document.documentElement ? document.documentElement.scrollHeight : 0,"
    " document.body ? document.body.scrollHeight : 0)"
)


async def _png(cdp: CDPSession, timeout_ms: float, clip: dict[str, float] | None = None) -> bytes:
    """A PNG of the viewport (or of ``clip`` within it), straight from the compositor.

    Encoded for speed: lossless all the same, about a third larger, and less than half
    the browser's time on a tall page, where encoding is most of a capture's CPU."""
    params: dict[str, Any] = {"format": "png", "optimizeForSpeed": True, "fromSurface": True}
    if clip is not None:
        params["clip"] = {**clip, "scale": 1}
    reply = await asyncio.wait_for(cdp.send("Page.captureScreenshot", params), timeout_ms / 1000)
    return base64.b64decode(reply["data"])


async def _full_page(page: Page, cdp: CDPSession, cap: int, timeout_ms: float) -> tuple[int, bytes]:
    """The page's height and a screenshot of all of it (down to ``cap``).

    The viewport is made as tall as the page, which loads lazy content the way scrolling
    would (one layout instead of one per scroll step), then shot and put back."""
    height = int(await page.evaluate(_HEIGHT_JS))
    try:
        for _ in range(3):  # content that loads may make the page taller
            tall = max(VIEWPORT["height"], min(height, cap))
            await page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
            height = int(await page.evaluate(_WAKE_JS))
            if height <= tall or tall >= cap:
                break
        # At least one row: a document without a root element measures 0.
        clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": max(1, min(height, cap))}
        png = await _png(cdp, timeout_ms, clip)
    finally:
        await page.set_viewport_size(VIEWPORT)
    return height, png


# Outline every matched passage: wrap it where it sits in one text node of an HTML
# element, else outline the smallest element whose text holds it. Works in documents
# without a body (SVG, XML, or a body removed by script): the root element stands in.
# Returns, for every passage, whether it was marked.
_HIGHLIGHT_JS = """
(needles) => {
  const root = document.body || document.documentElement;
  if (!root) return needles.map(() => false);
  const xhtml = 'http://www.w3.org/1999/xhtml';
  const style = 'outline:3px solid #d00;outline-offset:2px;background:#ff0;color:#000';
  const flat = s => s.toLowerCase().replace(/\\s+/g, ' ').trim();
  const shown = el => el.getClientRects().length > 0;  // laid out: not hidden, not detached
  let marked = 0;
  const found = [];
  for (const raw of needles) {
    const needle = raw.toLowerCase();
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let hit = false;
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const i = node.nodeValue.toLowerCase().indexOf(needle);
      const parent = node.parentElement;
      if (i < 0 || !parent || parent.closest('script,style') || !shown(parent)) continue;
      if (parent.namespaceURI !== xhtml) break;  // no <mark> in SVG or XML
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + needle.length);
      const mark = document.createElementNS(xhtml, 'mark');
      mark.setAttribute('data-kuzet-hit', String(marked));
      mark.setAttribute('style', style);
      range.surroundContents(mark);
      marked++; hit = true;
      break;
    }
    if (!hit) {
      const want = flat(raw);
      let best = null;
      for (const el of [root, ...root.querySelectorAll('*')]) {
        if (el.closest('script,style')) continue;
        if (flat(el.textContent || '').includes(want) && shown(el)) best = el;
      }
      if (best) {
        best.setAttribute('data-kuzet-hit', String(marked));
        best.setAttribute('style', (best.getAttribute('style') || '') + ';' + style);
        marked++; hit = true;
      }
    }
    found.push(hit);
  }
  return found;
}
"""

_BLOCK = "p,li,td,th,blockquote,article,section,h1,h2,h3,h4,h5,h6,pre,figure,div"


def _crop_png(png: bytes, box: tuple[int, int, int, int]) -> bytes:
    """A region of a screenshot, cut without another round trip to the browser."""
    with Image.open(io.BytesIO(png)) as img:
        out = io.BytesIO()
        img.crop(box).save(out, format="PNG")
        return out.getvalue()


@dataclass
class _Highlight:
    artifacts: list[ArtifactData] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


async def _highlight(
    page: Page, cdp: CDPSession, passages: tuple[str, ...], timeout_ms: float
) -> _Highlight:
    """A viewport screenshot with the matched passages outlined, and a crop of the first."""
    out = _Highlight(summary={"passages": list(passages), "found": []})
    wanted = [p for p in dict.fromkeys(p.strip() for p in passages) if p]
    if not wanted:
        return out
    found = await page.evaluate(_HIGHLIGHT_JS, wanted)
    out.summary = {"passages": wanted, "found": found}
    if not any(found):
        return out
    first = page.locator("[data-kuzet-hit]").first
    # Centred, so the shot shows the passage with its context above and below; the box of
    # the block that holds it is measured in the same step, for the crop.
    box = await first.evaluate(
        "el => { el.scrollIntoView({block: 'center', inline: 'nearest'});"
        f" const b = (el.closest({_BLOCK!r}) || el).getBoundingClientRect();"
        " return [b.left, b.top, b.right, b.bottom, innerWidth, innerHeight]; }"
    )
    shot = await _png(cdp, timeout_ms)
    out.artifacts.append(ArtifactData("screenshot_highlighted", "image/png", shot))
    left, top, right, bottom, width, height = (round(v) for v in box)
    if top >= 0 and bottom <= height and right > left and bottom > top:
        crop = _crop_png(
            shot,
            (max(0, left - 8), max(0, top - 8), min(width, right + 8), min(height, bottom + 8)),
        )
    else:  # the block is taller than the screen: shoot the element itself
        block = await first.evaluate_handle(f"el => el.closest({_BLOCK!r}) || el")
        element = block.as_element()
        crop = await element.screenshot(type="png", timeout=timeout_ms) if element else b""
    if crop:
        out.artifacts.append(ArtifactData("screenshot_crop", "image/png", crop))
    return out
