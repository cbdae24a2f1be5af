"""A crawled page's content never becomes active in the review UI.

A hostile site is captured through the real pipeline, then an officer opens its evidence
in real Chromium: nothing of it runs, registers a worker or acts with the officer's
session. Evidence files are typed by kuzet from their bytes (``evidence.sniff``), never by
the page, and the UI's own policy forbids inline script, workers, plugins and frames.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from evidence.browser import CHROMIUM_ARGS
from evidence.jobs import run_captures
from evidence.sniff import OCTET_STREAM
from evidence.store import LocalArtifactStore
from kuzet.models import Artifact, Capture, CaptureStatus, Detection, DetectionStatus
from review.app import create_app
from tests.factories import detection, officer, png_for
from tests.hostile_site import EVIL_TYPE, PAYLOAD_TYPE, HostileSite, Recorder
from tests.test_browser_review import served
from tests.webserver import serve_app

PASSWORD = "correct horse battery"
TEMPLATES = Path(__file__).resolve().parent.parent / "review" / "templates"


def test_templates_carry_no_inline_script_handler_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), template.name
        assert not re.search(r"\sstyle\s*=", text, re.IGNORECASE), template.name
        assert "|safe" not in text.replace(" ", "") and "javascript:" not in text, template.name


# ---------------------------------------------------------------- a hostile site, captured


@pytest.fixture
def hostile() -> Iterator[tuple[HostileSite, Recorder]]:
    with Recorder() as recorder, HostileSite(recorder) as site:
        yield site, recorder


def _queue_flagged(db, site: HostileSite) -> tuple[int, list[int]]:
    """Both hostile pages flagged and queued for capture, their source allowed to be on
    loopback, as a crawl and its analysis would leave them. (detection id, capture ids)"""
    with db.session() as s:
        officer(s)
        dets = [detection(s, None, site.url + path) for path in ("/casino", "/payload.js")]
        for det in dets:
            det.page.source.start_url, det.page.source.allow_private = site.url + "/", True
            cap = det.capture
            cap.status, cap.started_at, cap.finished_at = CaptureStatus.QUEUED, None, None
        site.state["det"] = dets[0].id
        return dets[0].id, [d.capture_id for d in dets]


def _login(page, base: str, target: str) -> None:
    page.goto(f"{base}{target}")
    page.fill("input[name=username]", "officer1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def _open_as_officer(page, url: str, recorder: Recorder) -> str | None:
    """Open an evidence URL the way an officer's click does; the name of the file it
    downloads, or None when it was shown as a page (then its script is given the time to
    do what it came for)."""
    try:
        with page.expect_download(timeout=10_000) as info:
            try:
                page.goto(url)
            except PlaywrightError as exc:  # "Download is starting": a file, not a page
                assert "download" in str(exc).lower(), exc
        return info.value.suggested_filename
    except PlaywrightError:
        recorder.reached.wait(20)
        return None


def test_hostile_page_captured_then_opened_by_an_officer_runs_nothing(
    settings, db, chromium, hostile
) -> None:
    site, recorder = hostile
    det_id, cap_ids = _queue_flagged(db, site)
    assert run_captures(settings, db, cap_ids).succeeded == 2
    recorder.hits.clear()  # what the capture browser loaded is no concern of the UI
    recorder.reached.clear()
    bodies: dict[str, str] = {}
    with db.session() as s:
        for cap in s.scalars(select(Capture).where(Capture.id.in_(cap_ids))):
            body = cap.artifact("response_body")
            # Stored with kuzet's type; the page's declared one is only data.
            assert body.media_type == OCTET_STREAM
            declared = {k.lower(): v for k, v in cap.meta["response_headers"].items()}
            assert declared["content-type"] in (EVIL_TYPE, PAYLOAD_TYPE)
            bodies[cap.url.rsplit("/", 1)[1]] = body.sha256
    store = LocalArtifactStore(settings.evidence_dir)
    assert store.open_bytes(bodies["casino"]) == site.evil()
    assert store.open_bytes(bodies["payload.js"]) == site.payload()
    with served(settings, db) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        _login(page, base, f"/detections/{det_id}")
        widths = page.locator(".shot img").evaluate_all("all => all.map(i => i.naturalWidth)")
        assert len(widths) == 3 and min(widths) > 0  # full page, highlighted, crop: shown
        assert page.locator("#planted").count() == 0  # the page's markup is never ours
        shot = page.locator(".shot.full img").get_attribute("src")
        names = [
            _open_as_officer(page, f"{base}/evidence/{sha}", recorder) for sha in bodies.values()
        ]
        page.goto(f"{base}/detections/{det_id}")
        workers = page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)")
        replies = {
            key: context.request.get(f"{base}/evidence/{sha}") for key, sha in bodies.items()
        }
        image = context.request.get(f"{base}{shot}")
        browser.close()
    assert recorder.page_hits() == {}, "the hostile page's script ran in the review UI"
    assert workers == 0
    with db.session() as s:
        assert s.get(Detection, det_id).status == DetectionStatus.PENDING
    assert names == [f"{sha}.response_body.txt" for sha in bodies.values()]
    for reply in replies.values():
        headers = reply.headers
        assert headers["content-type"] == OCTET_STREAM
        assert headers["content-disposition"].startswith("attachment;")
        assert headers["x-content-type-options"] == "nosniff"
        csp = [d.strip() for d in headers["content-security-policy"].split(";")]
        assert "sandbox" in csp and "default-src 'none'" in csp
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in image.headers["content-security-policy"]


def _old_rows(s, store: LocalArtifactStore, url: str, rec: str) -> tuple[int, dict[str, str]]:
    """A detection whose artifact rows still hold the types an older kuzet took from the
    page, over hostile bytes. (detection id, sha256 by kind)"""
    det = detection(s, store, url)
    beacon = f"<script>location.href = {rec!r} + '/ran'</script>".encode()
    files = {
        "response_body": (EVIL_TYPE, b"<!doctype html><p id=planted>x</p>" + beacon),
        "html_rendered": ("text/html; charset=utf-8", b"<html><body>" + beacon),
        "screenshot_viewport": (
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg">' + beacon + b"</svg>",
        ),
    }
    shas = {"screenshot_full": det.capture.artifact("screenshot_full").sha256}
    for kind, (media, data) in files.items():
        st = store.put(data)
        det.capture.artifacts.append(
            Artifact(kind=kind, media_type=media, sha256=st.sha256, size=st.size)
        )
        shas[kind] = st.sha256
    return det.id, shas


def test_rows_stored_by_an_older_kuzet_are_typed_again_when_served(
    settings, db, chromium, hostile
) -> None:
    _, recorder = hostile
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        det_id, shas = _old_rows(s, store, "http://127.0.0.1:9/old", recorder.url)
    with served(settings, db) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        _login(page, base, f"/detections/{det_id}")
        hostile_kinds = ("response_body", "html_rendered", "screenshot_viewport")
        names = {
            k: _open_as_officer(page, f"{base}/evidence/{shas[k]}", recorder) for k in hostile_kinds
        }
        # A real screenshot still opens as an image of its own, under the sandbox policy.
        shown = page.goto(f"{base}/evidence/{shas['screenshot_full']}")
        width = page.locator("img").evaluate("img => img.naturalWidth")
        replies = {k: context.request.get(f"{base}/evidence/{shas[k]}") for k in hostile_kinds}
        browser.close()
    assert recorder.page_hits() == {}
    assert names == {
        "response_body": f"{shas['response_body']}.response_body.txt",
        "html_rendered": f"{shas['html_rendered']}.html_rendered.txt",
        "screenshot_viewport": f"{shas['screenshot_viewport']}.screenshot_viewport.txt",
    }
    for reply in replies.values():
        assert reply.headers["content-type"] == OCTET_STREAM
        assert reply.headers["content-disposition"].startswith("attachment;")
        assert reply.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-type"] == "image/png" and width == 40
    assert shown.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in shown.headers["content-security-policy"]
    assert store.open_bytes(shas["screenshot_full"]) == png_for("http://127.0.0.1:9/old")


# Run in a UI page: what a script that got in would try; each must be refused by policy.
REFUSED = ("worker-src", "script-src-elem", "frame-src", "object-src")
_TRY_IN_UI = """async (expected) => {
  const violations = new Set();
  let allSeen;
  const seen = new Promise(r => { allSeen = r; });
  document.addEventListener("securitypolicyviolation", e => {
    violations.add(e.effectiveDirective);
    if (expected.every(d => violations.has(d))) allSeen();
  });
  let worker;
  try { await navigator.serviceWorker.register("/static/keys.js"); worker = "registered"; }
  catch (e) { worker = "refused"; }
  const s = document.createElement("script");
  s.textContent = "document.body.dataset.inline = 'ran'";
  document.body.append(s);
  const f = document.createElement("iframe");
  f.src = "/static/style.css";
  document.body.append(f);
  const o = document.createElement("object");
  o.data = "/static/style.css";
  document.body.append(o);
  await Promise.race([seen, new Promise(r => setTimeout(r, 5000))]);
  return {worker, inline: document.body.dataset.inline || null, violations: [...violations]};
}"""


def test_ui_policy_refuses_workers_frames_plugins_and_inline_script(settings, db, chromium) -> None:
    with db.session() as s:
        officer(s)
    with served(settings, db) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        _login(page, base, "/")
        csp = page.goto(f"{base}/").headers["content-security-policy"]
        tried = page.evaluate(_TRY_IN_UI, list(REFUSED))
        browser.close()
    assert tried["worker"] == "refused" and tried["inline"] is None
    assert set(REFUSED) <= set(tried["violations"]), tried
    directives = {d.strip() for d in csp.split(";")}
    for wanted in (
        "default-src 'none'",
        "script-src 'self'",
        "worker-src 'none'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert wanted in directives, wanted
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


# Markup a hostile page controls: its URL, title, text around a match, TLS names, redirect
# targets, the error its load produced. Shown to officers, it must stay text.
MARKUP = '"\'><img id=injected src=x><a id=jslink href="javascript:alert(1)">x</a><b id=bold>'


def test_page_controlled_values_are_shown_as_text(settings, db, chromium, hostile) -> None:
    _, recorder = hostile
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        det = detection(s, store, f"javascript:alert(1)//{MARKUP}", text=f"онлайн-казино {MARKUP}")
        det.page.title = MARKUP
        det.explanation = {
            "kind": "keywords",
            "matched": True,
            "terms": [MARKUP],
            "evidence": [{"text": MARKUP}],
        }
        cap = det.capture
        cap.error, cap.final_url = MARKUP, f"http://127.0.0.1:9/{MARKUP}"
        cap.meta = {
            "redirect_chain": [{"url": f"{recorder.url}/{MARKUP}", "status": 302}],
            "tls": {
                "protocol": MARKUP,
                "cipher": MARKUP,
                "certificate_chain": [{"subject": MARKUP, "issuer": MARKUP, "sha256": MARKUP}],
            },
        }
        det_id = det.id
    with served(settings, db) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        _login(page, base, f"/detections/{det_id}")
        planted = "#injected, #jslink, #bold, [href^='javascript:' i], [src^='javascript:' i]"
        injected = {"detail": page.locator(planted).count()}
        page.goto(f"{base}/?status=all")
        injected["queue"] = page.locator(planted).count()
        shown = page.locator("td.url").first.inner_text()
        browser.close()
    assert injected == {"detail": 0, "queue": 0}
    assert MARKUP in shown  # the officer reads exactly what the page said
    assert recorder.page_hits() == {}


# What an older kuzet let a captured script do in the UI's origin: a service worker over
# /evidence/ that answers every evidence file the officer opens with a forgery.
PLANTED_WORKER = b"""self.addEventListener("fetch", e => e.respondWith(new Response(
  "<h1 id=forged>forged evidence</h1>", {headers: {"Content-Type": "text/html"}})));
self.addEventListener("activate", e => e.waitUntil(self.clients.claim()));"""
PLANT = b"""<!doctype html><script>
navigator.serviceWorker.register("/evidence/sw.js").then(() => navigator.serviceWorker.ready)
  .then(() => { document.title = "planted"; });
</script>"""


class Upgraded:
    """One origin, served first as an older release served it (fixed answers by path),
    then, once ``upgrade()`` is called, by this kuzet's review app."""

    def __init__(self, app: Any, older: dict[str, tuple[str, bytes]]) -> None:
        self.app, self.older = app, older

    def upgrade(self) -> None:
        self.older = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.older:
            ctype, body = self.older.get(scope["path"], ("text/plain", b"not found"))
            headers = [(b"content-type", ctype.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _serve(app: Any):  # type: ignore[no-untyped-def]
    """An ASGI app on a real loopback port (uvicorn in a thread); its base URL."""
    return serve_app(app)


def test_a_worker_planted_before_is_wiped_at_login(settings, db, chromium) -> None:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        shot = detection(s, store, "http://127.0.0.1:9/w").capture.artifact("screenshot_full")
        shot_url = f"/evidence/{shot.sha256}"
    app = Upgraded(
        create_app(settings, db),
        {
            "/evidence/plant": ("text/html", PLANT),
            "/evidence/sw.js": ("text/javascript", PLANTED_WORKER),
        },
    )
    with _serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        page.goto(f"{base}/evidence/plant")
        page.wait_for_function("document.title === 'planted'")
        page.goto(f"{base}/evidence/elsewhere")  # answered by the worker
        assert page.locator("#forged").count() == 1
        app.upgrade()
        _login(page, base, "/")
        left = page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)")
        shown = page.goto(f"{base}{shot_url}")
        forged = page.locator("#forged").count()
        browser.close()
    assert left == 0 and forged == 0
    assert shown.headers["content-type"] == "image/png"
