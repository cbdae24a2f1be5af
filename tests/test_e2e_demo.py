"""The whole path — crawl → rules → capture → review → notice — on the bundled sample sites."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from kuzet import audit
from kuzet.demo import DEMO_OFFICER, run_demo
from kuzet.models import AuditEvent, Capture, CaptureStatus, Detection, DetectionStatus, Page
from notices.forms import FORM2

# (site, path) of every page that must be flagged, with its category; nothing else may be.
EXPECTED = {
    ("news", "/forum/index.html"): "suicide_promotion",
    ("news", "/articles/partner-bonus.html"): "online_gambling",
    ("bank", "/"): "phishing_fraud",
    ("bank", "/kk.html"): "phishing_fraud",
    ("casino", "/"): "online_gambling",
    ("casino", "/kk.html"): "online_gambling",
    ("shop", "/"): "drug_sales",
    ("shop", "/kk.html"): "drug_sales",
}


def test_demo_pipeline_end_to_end(settings, db, demo_sites, chromium) -> None:
    result = run_demo(settings, db, server=demo_sites)
    site_of = {urlsplit(u).netloc: name for name, u in demo_sites.urls.items()}

    def key(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return site_of[parts.netloc], parts.path

    with db.session() as s:
        pages = s.scalars(select(Page)).all()
        crawled = {key(p.url) for p in pages}
        # clean articles, the precision traps and the 404 were all fetched
        assert {
            ("news", "/articles/police-casino.html"),
            ("news", "/articles/blue-whale-warning.html"),
            ("news", "/articles/economy-tenge.html"),
            ("news", "/articles/astana-park.html"),
            ("casino", "/register.html"),
            ("news", "/articles/removed-2019.html"),
        } <= crawled
        detections = s.scalars(select(Detection)).all()
        flagged: dict[tuple[str, str], set[str]] = {}
        for d in detections:
            flagged.setdefault(key(d.page.url), set()).add(d.violation_type)
        assert flagged == {k: {v} for k, v in EXPECTED.items()}

        # every detection: confirmed by the demo officer, with a screenshot whose bytes match the DB
        for d in detections:
            assert d.status == DetectionStatus.CONFIRMED and d.decided_by.username == DEMO_OFFICER
            cap = d.capture
            assert cap is not None and cap.status == CaptureStatus.SUCCEEDED
            shot = cap.artifact("screenshot_full")
            data = (
                settings.evidence_dir / shot.sha256[:2] / shot.sha256[2:4] / shot.sha256
            ).read_bytes()
            assert hashlib.sha256(data).hexdigest() == shot.sha256 and len(data) == shot.size
            assert data.startswith(b"\x89PNG")
        assert len(s.scalars(select(Capture)).all()) == len(EXPECTED)
        confirms = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "detection.confirmed")
        ).all()
        assert len(confirms) == len(detections) and all(e.actor == DEMO_OFFICER for e in confirms)
        assert all(e.details["via"] == "kuzet demo" for e in confirms)
        assert audit.verify_chain(s) == []

    summary = json.loads((settings.home / "demo" / "summary.json").read_text())
    assert summary["pages"] == len(crawled)
    assert summary["captures"] == {"succeeded": len(EXPECTED), "failed": 0}
    per_type: dict[str, int] = {}
    for d in detections:
        per_type[d.violation_type] = per_type.get(d.violation_type, 0) + 1
    assert summary["detections"] == per_type
    assert len(summary["notices"]) == 4 == len(result.notices)

    facts_by_type: dict[str, set[tuple[str, str]]] = {}
    for n in summary["notices"]:
        doc = json.loads(Path(n["json"]).read_text(encoding="utf-8"))
        assert doc["id"] == n["id"] and doc["status"] == "draft"
        assert doc["legal_norm"]["kk"] and doc["legal_norm"]["ru"]
        facts_by_type[doc["violation_type"]] = {key(f["url"]) for f in doc["facts"]}
        for f in doc["facts"]:
            assert (
                f["domain"] == "127.0.0.1"
                and f["ip"] == "127.0.0.1"
                and f["protocol"] == "HTTP/1.1"
            )
            assert f["captured_at"] and len(f["screenshot_sha256"]) == 64
        text = subprocess.run(
            ["pdftotext", "-layout", n["pdf"], "-"], capture_output=True, text=True, check=True
        ).stdout
        flat = " ".join(text.split())
        for field in ("title", "field1", "field2", "confirm", "official"):
            assert " ".join(FORM2["kk"][field].split()) in flat, field
        assert "Уведомление" in flat and "Вид нарушения" in flat
        for f in doc["facts"]:
            assert f["url"] in flat
    expected_facts: dict[str, set[tuple[str, str]]] = {}
    for k, v in EXPECTED.items():
        expected_facts.setdefault(v, set()).add(k)
    assert facts_by_type == expected_facts
