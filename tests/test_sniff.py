"""evidence.sniff on real bytes: what kuzet makes, and what a hostile page could send."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from evidence.jobs import run_captures
from evidence.manifest import Listed, build_manifest
from evidence.recorder import Exchange
from evidence.sniff import OCTET_STREAM, download_name, sniff
from evidence.timestamp import request_timestamp
from evidence.warc import build_wacz, build_warc
from kuzet.models import Capture, CaptureStatus
from tests.factories import detection
from tests.test_timestamp import TsaServer, make_tsa
from tests.webserver import WebServer, html


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 9), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


# ---------------------------------------------------------------- sniffing real bytes


def test_allowlisted_images_are_the_only_inline_types() -> None:
    for fmt, media in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        got = sniff(_image(fmt), "screenshot_full")
        assert (got.media_type, got.inline) == (media, True), fmt
    hostile = {
        "html": b"<!doctype html><html><script>alert(1)</script></html>",
        "html after blanks": b"\n\n   <script>alert(1)</script>",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "gif": _image("GIF"),
        "bmp": _image("BMP"),
        "script": b"navigator.serviceWorker.register('/x.js')",
        "xml": b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml"/>',
        "empty": b"",
    }
    for name, data in hostile.items():
        for kind in ("response_body", "html_rendered", "screenshot_full", "warc", "manifest"):
            got = sniff(data, kind)
            assert (got.media_type, got.inline) == (OCTET_STREAM, False), (name, kind)


def test_evidence_formats_are_downloads_recognised_by_bytes_and_kind(tmp_path) -> None:
    page = Exchange(
        url="http://127.0.0.1:9/",
        status=200,
        response_headers={"Content-Type": "image/x, text/html"},
        body=b"<title>T</title><script>alert(1)</script>",
    )
    warc = build_warc([page], software="kuzet test", info={})
    wacz = build_wacz(warc, url=page.url, at=page.at, title="T")
    manifest = build_manifest(
        capture_id=1,
        url="http://127.0.0.1:9/",
        artifacts=[Listed("warc", "application/warc", hashlib.sha256(warc).hexdigest(), 1)],
        metadata={},
        hits=[],
    )
    with TsaServer(make_tsa(tmp_path)) as tsa:
        stamp = request_timestamp(manifest, tsa.url)
    made = {
        "pdf": (_image("PDF"), "application/pdf", ".pdf"),
        "warc": (warc, "application/warc", ".warc.gz"),
        "wacz": (wacz, "application/wacz+zip", ".wacz"),
        "manifest": (manifest, "application/json", ".manifest.json"),
        "timestamp": (stamp, "application/timestamp-reply", ".tsr"),
    }
    sha = "ab" * 32
    for kind, (data, media, suffix) in made.items():
        got = sniff(data, kind)
        assert (got.media_type, got.inline) == (media, False), kind
        assert download_name(sha, kind, got) == sha + suffix
    # A page's body that is a zip, gzip, JSON or DER is still only bytes to kuzet.
    for kind, (data, _, _) in made.items():
        if kind != "pdf":
            assert sniff(data, "response_body").media_type == OCTET_STREAM, kind
    # Containers claimed for a kind their bytes do not have are bytes too.
    assert sniff(b"PK\x03\x04 not a wacz", "warc").media_type == OCTET_STREAM
    assert sniff(b"\x1f\x8b\x08 not gzip", "warc").media_type == OCTET_STREAM
    assert sniff(b"[1, 2]", "manifest").media_type == OCTET_STREAM
    assert sniff(stamp + b"<script>", "timestamp").media_type == OCTET_STREAM


def test_download_names_are_kuzets_own() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    html = sniff("<p>Қазақ тілі</p>".encode(), "response_body")
    assert download_name(sha, "response_body", html) == f"{sha}.response_body.txt"
    binary = sniff(b"\x00\x01\x02", "response_body")
    assert download_name(sha, "response_body", binary) == f"{sha}.response_body.bin"
    assert download_name(sha, 'x"; filename="evil.html', html) == f"{sha}.txt"
    with pytest.raises(ValueError):
        download_name('../evil.html"', "response_body", html)


@pytest.mark.both_databases
def test_a_page_declaring_any_type_is_stored_with_kuzets_own(settings, db, chromium) -> None:
    """The page's declared type is data in the metadata, whatever its length; the row gets
    kuzet's (a 300-character type once did not fit the column on PostgreSQL)."""
    declared = "text/html; " + "; ".join(f"param{i}=value" for i in range(25))
    page = html("<p>Лучшее онлайн-казино</p>", **{"Content-Type": declared})
    with WebServer({"/long": page}) as site:
        with db.session() as s:
            det = detection(s, None, site.url + "/long")
            det.page.source.start_url, det.page.source.allow_private = site.url + "/", True
            cap = det.capture
            cap.status, cap.started_at, cap.finished_at = CaptureStatus.QUEUED, None, None
            cap_id = cap.id
        summary = run_captures(settings, db, [cap_id])
    assert summary.succeeded == 1
    with db.session() as s:
        cap = s.get(Capture, cap_id)
        types = {a.kind: a.media_type for a in cap.artifacts}
        headers = {k.lower(): v for k, v in cap.meta["response_headers"].items()}
    assert headers["content-type"] == declared
    assert types["response_body"] == types["html_rendered"] == OCTET_STREAM
    assert types["screenshot_full"] == "image/png" and types["warc"] == "application/warc"
    assert types["wacz"] == "application/wacz+zip" and types["manifest"] == "application/json"
