from __future__ import annotations

import hashlib
from dataclasses import replace

from sqlalchemy import select

from evidence.capture import describe_protocol
from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from kuzet.models import Capture, CaptureStatus


def queue(db, *urls: str) -> list[int]:
    with db.session() as s:
        caps = [Capture(url=u) for u in urls]
        s.add_all(caps)
        s.flush()
        return [c.id for c in caps]


def test_capture_stores_hashed_screenshot_and_metadata(
    settings, db, sample_site, chromium, closed_port
) -> None:
    good = sample_site.urls["site"] + "articles/casino.html"
    bad = f"http://127.0.0.1:{closed_port}/gone"
    queue(db, good, bad)
    summary = run_captures(settings, db)
    assert (summary.succeeded, summary.failed) == (1, 1)
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        ok = s.scalars(select(Capture).where(Capture.url == good)).one()
        assert ok.status == CaptureStatus.SUCCEEDED and ok.attempts == 1
        assert ok.http_status == 200 and ok.server_ip == "127.0.0.1" and ok.protocol == "HTTP/1.1"
        assert ok.browser_version.startswith("Chromium ") and "Chrome/" in ok.user_agent
        assert ok.started_at <= ok.finished_at
        shot = ok.artifact("screenshot_full")
        html = ok.artifact("html_rendered")
        png = store.open_bytes(shot.sha256)
        assert png.startswith(b"\x89PNG") and hashlib.sha256(png).hexdigest() == shot.sha256
        assert shot.size == len(png)
        assert "ОНЛАЙН-КАЗИНО" in store.open_bytes(html.sha256).decode()
        failed = s.scalars(select(Capture).where(Capture.url == bad)).one()
        assert failed.status == CaptureStatus.FAILED and failed.finished_at is not None
        assert "ERR_CONNECTION_REFUSED" in failed.error and failed.artifacts == []


def test_missing_browser_fails_every_capture_visibly(settings, db, sample_site) -> None:
    ids = queue(db, sample_site.urls["site"], sample_site.urls["site"] + "articles/clean.html")
    summary = run_captures(replace(settings, chromium_path="/nonexistent/chromium"), db)
    assert summary.failed == 2
    with db.session() as s:
        for cid in ids:
            cap = s.get(Capture, cid)
            assert cap.status == CaptureStatus.FAILED and "Chromium not found" in cap.error


def test_final_states_are_not_reclaimed(settings, db, sample_site, chromium) -> None:
    queue(db, sample_site.urls["site"])
    run_captures(settings, db)
    assert run_captures(settings, db).succeeded == 0


def test_describe_protocol() -> None:
    assert describe_protocol("http://a/", "http/1.1") == "HTTP/1.1"
    assert describe_protocol("https://a/", "h2") == "HTTPS, HTTP/2"
    assert describe_protocol("https://a/", None) == "HTTPS"
