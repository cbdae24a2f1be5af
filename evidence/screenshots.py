"""What a capture does in the page: wake lazy content, shoot the viewport and the whole
page, outline the matched passages and crop the first one.

Every script here runs in a page written by an adversary: each copes with a document
without ``<body>`` or even a root element, and nothing it returns is trusted beyond its
type.
"""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from playwright.async_api import CDPSession, Page

VIEWPORT = {"width": 1366, "height": 900}


@dataclass
class ArtifactData:
    kind: str
    media_type: str
    data: bytes


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


async def screenshot(
    cdp: CDPSession, timeout_ms: float, clip: dict[str, float] | None = None
) -> bytes:
    """A PNG of the viewport (or of ``clip`` within it), straight from the compositor.

    Encoded for speed: lossless all the same, about a third larger, and less than half
    the browser's time on a tall page, where encoding is most of a capture's CPU."""
    params: dict[str, Any] = {"format": "png", "optimizeForSpeed": True, "fromSurface": True}
    if clip is not None:
        params["clip"] = {**clip, "scale": 1}
    reply = await asyncio.wait_for(cdp.send("Page.captureScreenshot", params), timeout_ms / 1000)
    return base64.b64decode(reply["data"])


async def full_page_screenshot(
    page: Page, cdp: CDPSession, cap: int, timeout_ms: float
) -> tuple[int, bytes]:
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
        png = await screenshot(cdp, timeout_ms, clip)
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
class Highlight:
    artifacts: list[ArtifactData] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


async def outline_passages(
    page: Page, cdp: CDPSession, passages: tuple[str, ...], timeout_ms: float
) -> Highlight:
    """A viewport screenshot with the matched passages outlined, and a crop of the first."""
    out = Highlight(summary={"passages": list(passages), "found": []})
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
    shot = await screenshot(cdp, timeout_ms)
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
