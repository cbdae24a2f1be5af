"""The review UI in real Chromium: log in, refuse a reason-less rejection, accept a reasoned one."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from evidence.browser import CHROMIUM_ARGS
from evidence.store import LocalArtifactStore
from kuzet.models import AuditEvent, Detection, DetectionStatus
from review.app import create_app
from tests.factories import detection, officer


@pytest.fixture
def live_ui(settings, db):
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        det_id = detection(s, store, "http://127.0.0.1:9/casino").id
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", det_id
    server.should_exit = True
    thread.join(5)


def test_officer_rejects_only_with_a_reason(live_ui, db, chromium, tmp_path) -> None:
    base, det_id = live_ui
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/detections/{det_id}?lang=ru")
        assert "/login" in page.url
        page.fill("input[name=username]", "officer1")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/detections/{det_id}?lang=ru")
        assert page.locator(".shot img").evaluate("img => img.naturalWidth") > 0  # screenshot loads

        page.click("#reject")  # empty reason
        assert "обязательно письменное обоснование" in page.locator(".error").inner_text()
        with db.session() as s:
            assert s.get(Detection, det_id).status == DetectionStatus.PENDING

        page.fill("textarea[name=reason]", "Материал — новостной отчёт о блокировке, а не реклама.")
        page.click("#reject")
        page.wait_for_url(f"{base}/detections/{det_id}?done=rejected")
        assert "Отклонено" in page.locator("h1").inner_text()
        assert "новостной отчёт" in page.locator(".reason").inner_text()
        page.screenshot(path=str(tmp_path / "rejected.png"))
        browser.close()
    with db.session() as s:
        det = s.get(Detection, det_id)
        assert det.status == DetectionStatus.REJECTED and det.decided_by.username == "officer1"
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "detection.rejected")).one()
        assert ev.actor == "officer1" and "новостной" in ev.details["reason"]
