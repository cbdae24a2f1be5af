"""Court-grade captures: every artifact, the load's metadata, WACZ, manifest and custody."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, select
from typer.testing import CliRunner

from evidence.capture import CaptureOptions
from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from evidence.warc import validate_wacz
from kuzet.cli import app
from kuzet.models import AuditEvent, Capture, CaptureStatus
from tests.factories import watched_page
from tests.test_cli import env
from tests.webserver import WebServer, html

LAZY = "".join(
    f'<p style="height:900px">Абзац {i}</p>'
    f'<img loading="lazy" src="/img/{i}.svg" width="50" height="50">'
    for i in range(12)
)
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="50" height="50">'
    b'<rect width="50" height="50" fill="red"/></svg>'
)


def _slow(path, h):
    time.sleep(40)  # never arrives within the capture
    return 200, {"Content-Type": "image/png"}, b""


ROUTES = {
    "/tall.html": html(LAZY + "<p id='ad'>Лучшее онлайн-казино с бонусом!</p>", title="Ұзын бет"),
    "/img/": lambda path, h: (200, {"Content-Type": "image/svg+xml"}, SVG),
    "/r1": lambda path, h: (302, {"Location": "/r2"}, b""),
    "/r2": lambda path, h: (301, {"Location": "/tall.html"}, b""),
    "/hang.html": html('<p>Загрузка…</p><img src="/slow.png">'),
    "/slow.png": _slow,
    "/pushy.html": html(
        "<p>Спам</p><script>alert('!'); window.open('/tall.html');"
        "const a = document.createElement('a'); a.href = '/file.bin'; a.download = 'x.bin';"
        "document.body.appendChild(a); a.click();</script>"
    ),
    "/file.bin": lambda path, h: (200, {"Content-Type": "application/octet-stream"}, b"\0" * 100),
}


class Site(WebServer):
    def reply(self, path, headers):
        if path.startswith("/img/"):
            return ROUTES["/img/"](path, headers)
        return super().reply(path, headers)


@pytest.fixture(scope="module")
def site():
    with Site(ROUTES) as server:
        yield server


def queue(db, url: str) -> int:
    with db.session() as s:
        cap = Capture(url=url)
        s.add(cap)
        s.flush()
        return cap.id


def test_full_capture_of_a_tall_lazy_page_behind_redirects(settings, db, site, chromium) -> None:
    cid = queue(db, site.url + "/r1")
    summary = run_captures(settings, db, [cid])
    assert summary.succeeded == 1
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        cap = s.get(Capture, cid)
        kinds = {a.kind for a in cap.artifacts}
        assert {
            "screenshot_full",
            "screenshot_viewport",
            "html_rendered",
            "response_body",
            "warc",
            "wacz",
            "manifest",
        } <= kinds, cap.meta["notes"]
        meta = cap.meta
        assert meta["final_url"] == site.url + "/tall.html"
        assert [(h["status"], h["location"]) for h in meta["redirect_chain"]] == [
            (302, "/r2"),
            (301, "/tall.html"),
        ]
        assert meta["page_height"] > 10_000 and meta["screenshot_height"] == meta["page_height"]
        assert meta["load_complete"] and meta["server_ips"] == ["127.0.0.1"]
        assert meta["response_headers"]["Content-Type"].startswith("text/html")
        # lazy images were scrolled into loading, down to the last one
        assert site.hits["/img/11.svg"] >= 1
        body = store.open_bytes(cap.artifact("response_body").sha256)
        assert "онлайн-казино".encode() in body
        manifest = json.loads(store.open_bytes(cap.manifest_sha256))
        listed = {(a["kind"], a["sha256"], a["size"]) for a in manifest["artifacts"]}
        assert listed == {(a.kind, a.sha256, a.size) for a in cap.artifacts if a.kind != "manifest"}
        assert manifest["metadata"]["final_url"] == meta["final_url"]
        wacz = settings.home / "check.wacz"
        wacz.write_bytes(store.open_bytes(cap.artifact("wacz").sha256))
    ok, said = validate_wacz(wacz)
    assert ok, said


def test_height_cap_is_recorded(settings, db, site, chromium) -> None:
    from dataclasses import replace

    cid = queue(db, site.url + "/tall.html")
    run_captures(replace(settings, capture_max_height=3000), db, [cid])
    with db.session() as s:
        meta = s.get(Capture, cid).meta
        assert meta["height_capped"] and meta["screenshot_height"] == 3000
        assert meta["page_height"] > 3000


def test_unfinished_load_dialogs_popups_and_downloads(settings, db, site, chromium) -> None:
    from dataclasses import replace

    hang, pushy = queue(db, site.url + "/hang.html"), queue(db, site.url + "/pushy.html")
    summary = run_captures(replace(settings, capture_timeout_s=8), db, [hang, pushy])
    assert summary.succeeded == 2
    with db.session() as s:
        meta = s.get(Capture, hang).meta
        assert meta["load_complete"] is False
        assert "the page had not finished loading when captured" in meta["notes"]
        notes = " | ".join(s.get(Capture, pushy).meta["notes"])
        assert "dialog dismissed: alert" in notes and "pop-up closed" in notes
    assert site.hits["/file.bin"] <= 1  # a download is refused, never stored


def _self_signed(tmp: Path) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kuzet-test.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


def test_https_capture_records_tls_and_certificate(settings, db, chromium, tmp_path) -> None:
    cert, key, der = _self_signed(tmp_path)
    server = WebServer({"/": html("<p>Қауіпсіз бет</p>")})
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.httpd.socket = tls.wrap_socket(server.httpd.socket, server_side=True)
    with server:
        url = server.url.replace("http://", "https://") + "/"
        cid = queue(db, url)
        assert run_captures(settings, db, [cid]).succeeded == 1
    with db.session() as s:
        cap = s.get(Capture, cid)
        tls_meta = cap.meta["tls"]
        assert tls_meta["protocol"].startswith("TLS 1.")
        assert tls_meta["cipher"] and tls_meta["subject"] == "kuzet-test.local"
        chain = tls_meta["certificate_chain"]
        assert chain[0]["sha256"] == hashlib.sha256(der).hexdigest()
        assert "CN=kuzet-test.local" in chain[0]["subject"]
        assert cap.protocol.startswith("HTTPS") and cap.server_ip == "127.0.0.1"


def test_verify_names_the_altered_artifact_and_the_broken_log(settings, db, site, chromium) -> None:
    cid = queue(db, site.url + "/tall.html")
    run_captures(settings, db, [cid])
    runner = CliRunner()
    ok = runner.invoke(app, ["--lang", "en", "evidence", "verify", "--all"], env=env(settings))
    assert ok.exit_code == 0, ok.output
    assert "custody log chain is intact" in ok.output
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        shot = s.get(Capture, cid).artifact("screenshot_viewport")
        path = store.path(shot.sha256)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    bad = runner.invoke(app, ["evidence", "verify", str(cid)], env=env(settings))
    assert bad.exit_code == 1
    assert f"capture {cid}: screenshot_viewport ({shot.sha256[:12]}…) was altered" in bad.stderr
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    # a second capture adds the next custody entry; then the first entry is removed
    run_captures(settings, db, [queue(db, site.url + "/tall.html")])
    with db.session() as s:
        s.execute(
            delete(AuditEvent).where(
                AuditEvent.action == "capture.stored", AuditEvent.object_id == str(cid)
            )
        )
    bad = runner.invoke(
        app, ["--lang", "en", "evidence", "verify", "--all"], env=env(settings)
    )
    assert bad.exit_code == 1
    assert f"capture {cid}: no custody log entry vouches for its manifest" in bad.stderr
    assert "link to the previous entry broken" in bad.stderr


def test_capture_command_keeps_a_history(settings, site, chromium) -> None:
    runner = CliRunner()
    for _ in range(2):
        r = runner.invoke(
            app, ["--lang", "ru", "capture", site.url + "/tall.html"], env=env(settings)
        )
        assert r.exit_code == 0, r.output
        assert "Манифест:" in r.output
    from kuzet.db import Database

    db = Database.from_settings(settings)
    with db.session() as s:
        caps = s.scalars(select(Capture).where(Capture.url == site.url + "/tall.html")).all()
        assert len(caps) == 2 and all(c.status == CaptureStatus.SUCCEEDED for c in caps)
        assert caps[0].manifest_sha256 != caps[1].manifest_sha256
    db.dispose()


def test_matched_passage_is_outlined_and_cropped(settings, db, site, chromium) -> None:
    from kuzet.models import Detection

    url = site.url + "/tall.html"
    with db.session() as s:
        page = watched_page(s, url, source="hl")
        s.add(
            Detection(
                page_id=page.id,
                rule_id="gambling.casino.ru",
                rule_version=3,
                rule_fingerprint="f" * 64,
                violation_type="online_gambling",
                legal_norm={"ru": "норма"},
                severity="high",
                score=2.0,
                spans=[
                    {
                        "scope": "text",
                        "start": 10,
                        "end": 23,
                        "text": "онлайн-казино",
                        "term": "казино",
                    }
                ],
            )
        )
        cap = Capture(page_id=page.id, url=url)
        s.add(cap)
        s.flush()
        cid = cap.id
    assert run_captures(settings, db, [cid]).succeeded == 1
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap.meta["highlight"] == {"passages": ["онлайн-казино"], "found": [True]}
        crop = store.open_bytes(cap.artifact("screenshot_crop").sha256)
        shot = store.open_bytes(cap.artifact("screenshot_highlighted").sha256)
        assert crop.startswith(b"\x89PNG") and shot.startswith(b"\x89PNG")
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(crop)) as img:  # the paragraph, not the page
            assert img.height < 200
        with Image.open(BytesIO(shot)) as img:  # the outline colour is on the shot
            assert (221, 0, 0) in {px[:3] for px in img.convert("RGB").get_flattened_data()}
        manifest = json.loads(store.open_bytes(cap.manifest_sha256))
        (hit,) = manifest["rule_hits"]
        assert (hit["rule_id"], hit["rule_version"], hit["spans"][0]["text"]) == (
            "gambling.casino.ru",
            3,
            "онлайн-казино",
        )


def test_capture_left_running_by_a_dead_worker_is_resumed(settings, db, site, chromium) -> None:
    from datetime import timedelta

    from kuzet.db import utcnow

    url = site.url + "/tall.html"
    with db.session() as s:  # as a worker killed mid-capture leaves it
        cap = Capture(url=url, status=CaptureStatus.RUNNING, attempts=1)
        cap.started_at = utcnow() - timedelta(hours=1)
        gone = Capture(url=url, status=CaptureStatus.RUNNING, attempts=3)
        gone.started_at = utcnow() - timedelta(hours=1)
        fresh = Capture(url=url, status=CaptureStatus.RUNNING, attempts=1, started_at=utcnow())
        s.add_all([cap, gone, fresh])
        s.flush()
        ids = cap.id, gone.id, fresh.id
    run_captures(settings, db)
    with db.session() as s:
        cap, gone, fresh = (s.get(Capture, i) for i in ids)
        assert cap.status == CaptureStatus.SUCCEEDED and cap.attempts == 2
        assert gone.status == CaptureStatus.FAILED and "gave up after 3 attempts" in gone.error
        assert fresh.status == CaptureStatus.RUNNING  # its worker may still be at it


def test_a_crashed_browser_is_restarted_and_its_capture_retried(settings, db, site, chromium):
    from evidence.capture import PlaywrightBackend

    class CrashOnce(PlaywrightBackend):
        crashed = False

        async def capture(self, url, options=None):
            if not CrashOnce.crashed:
                CrashOnce.crashed = True
                cdp = await self._browser.new_browser_cdp_session()
                with contextlib.suppress(Exception):  # the browser dies answering
                    await cdp.send("Browser.crash")
                for _ in range(50):  # the crash is noticed asynchronously
                    if not self.alive:
                        break
                    await asyncio.sleep(0.1)
            return await super().capture(url, options or CaptureOptions())

    cid = queue(db, site.url + "/tall.html")
    summary = run_captures(settings, db, [cid], backend_factory=CrashOnce)
    assert summary.browser_restarts == 1 and summary.succeeded == 1
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap.status == CaptureStatus.SUCCEEDED and cap.attempts == 2


def test_a_time_out_is_retried_later_then_given_up(settings, db, site, chromium):
    from dataclasses import replace

    from kuzet.db import utcnow

    slow = replace(settings, capture_timeout_s=2)
    with WebServer({"/": _slow}) as never:  # the document itself never arrives
        cid = queue(db, never.url + "/")
        for attempt in (1, 2, 3):
            summary = run_captures(slow, db, [cid])
            with db.session() as s:
                cap = s.get(Capture, cid)
                assert cap.attempts == attempt
                if attempt < 3:
                    assert summary.retrying == 1 and cap.status == CaptureStatus.RETRYING
                    assert "page did not load" in cap.error and cap.retry_at > utcnow()
                    assert run_captures(slow, db, [cid]).retrying == 0  # not due yet
                    cap.retry_at = utcnow()  # as if the back-off had passed
        assert cap.status == CaptureStatus.FAILED and "gave up after 3 attempts" in cap.error


def test_a_worker_killed_mid_capture_is_resumed_by_the_next(settings, db, chromium) -> None:
    import os
    import signal
    import subprocess
    import sys

    first = {"slow": True}

    def page(path, h):
        if first.pop("slow", False):
            time.sleep(30)  # the first worker dies while this loads
        return html("<p>Онлайн-казино</p>")(path, h)

    with WebServer({"/": page}) as web:
        cid = queue(db, web.url + "/")
        worker = subprocess.Popen(
            [sys.executable, "-m", "kuzet.cli", "captures", "work"],
            env={**os.environ, **env(settings)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with db.session() as s:
                    if s.get(Capture, cid).status == CaptureStatus.RUNNING and web.hits["/"]:
                        break
                time.sleep(0.2)
            else:
                pytest.fail("the worker never started the capture")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        with db.session() as s:
            cap = s.get(Capture, cid)
            assert cap.status == CaptureStatus.RUNNING and cap.worker_pid == worker.pid
        # the next run sees that process gone (same host) and takes the capture over
        assert run_captures(settings, db).succeeded == 1
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap.status == CaptureStatus.SUCCEEDED and cap.attempts == 2
        assert cap.worker_pid == os.getpid()
