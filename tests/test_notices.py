from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from evidence.store import LocalArtifactStore
from kuzet.models import AuditEvent, DetectionStatus, Notice, NoticeStatus
from notices.builder import build_drafts, fact_domain
from notices.export import render_notice
from notices.forms import FORM2
from tests.factories import detection, officer

pytestmark = pytest.mark.both_databases


@pytest.fixture
def store(settings):
    return LocalArtifactStore(settings.evidence_dir)


def confirm_all(s, dets) -> None:
    for d in dets:
        d.status = DetectionStatus.CONFIRMED


def test_groups_by_type_and_norm_one_fact_per_url(db, store) -> None:
    with db.session() as s:
        user = officer(s)
        a1 = detection(s, store, "http://127.0.0.1:9/casino")
        a2 = detection(s, store, "http://127.0.0.1:9/casino", rule_id="gambling.casino-promo.kk")
        b = detection(s, store, "http://127.0.0.1:9/bonus")
        c = detection(
            s, store, "http://127.0.0.1:9/shop", vtype="drug_sales", rule_id="drugs.shop.ru"
        )
        pending = detection(s, store, "http://127.0.0.1:9/pending")
        no_shot = detection(s, store, "http://127.0.0.1:9/noshot", capture_ok=False)
        confirm_all(s, [a1, a2, b, c, no_shot])
        result = build_drafts(s, authority="Орган", user=user)
        by_type = {n.violation_type: n for n in result.notices}
        assert set(by_type) == {"online_gambling", "drug_sales"}
        gambling = by_type["online_gambling"]
        assert [f.url for f in gambling.facts] == [
            "http://127.0.0.1:9/casino",
            "http://127.0.0.1:9/bonus",
        ]
        assert [f.position for f in gambling.facts] == [1, 2]
        assert {d.id for d in gambling.facts[0].detections} == {a1.id, a2.id}
        assert gambling.status == NoticeStatus.DRAFT and gambling.authority == "Орган"
        assert result.skipped == [
            (no_shot.id, "capture failed: page did not load: net::ERR_CONNECTION_REFUSED")
        ]
        assert pending.notice_fact_id is None
        assert s.scalars(
            select(AuditEvent).where(AuditEvent.action == "notice.draft_created")
        ).all()
        # building again adds nothing: every confirmed detection with evidence is in a notice
        assert build_drafts(s, authority="Орган").notices == []


def test_fact_domain_is_host_or_ip() -> None:
    assert fact_domain("https://Casino-Stars.kz:8443/a?b") == "casino-stars.kz"
    assert fact_domain("http://10.1.2.3/x") == "10.1.2.3"


def test_json_export_shape(db, store) -> None:
    with db.session() as s:
        d = detection(s, store, "http://127.0.0.1:9/casino")
        confirm_all(s, [d])
        nid = build_drafts(s, authority="Орган").notices[0].id
    with db.session() as s:
        doc = json.loads(render_notice(s, store, nid, "json"))
    assert {
        "id",
        "status",
        "authority",
        "violation_type",
        "legal_norm",
        "created_at",
        "facts",
    } <= set(doc)
    assert doc["status"] == "draft" and doc["violation_type"] == "online_gambling"
    (fact,) = doc["facts"]
    assert {"url", "domain", "ip", "protocol", "captured_at", "screenshot_sha256"} <= set(fact)
    assert fact["url"] == "http://127.0.0.1:9/casino" and fact["domain"] == "127.0.0.1"
    assert (
        fact["ip"] == "127.0.0.1"
        and fact["protocol"] == "HTTP/1.1"
        and fact["captured_at"].endswith("Z")
    )
    assert store.verify(fact["screenshot_sha256"])


def test_pdf_has_form2_in_kazakh_and_russian_with_annex(db, store, tmp_path) -> None:
    with db.session() as s:
        dets = [detection(s, store, f"http://127.0.0.1:9/casino-{i}") for i in range(2)]
        confirm_all(s, dets)
        notice = build_drafts(s, authority="Мәдениет және ақпарат министрлігі").notices[0]
        nid, shas = notice.id, [f.screenshot_sha256 for f in notice.facts]
    with db.session() as s:
        pdf = render_notice(s, store, nid, "pdf")
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "n.pdf"
    path.write_bytes(pdf)
    reader = PdfReader(path)
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for lang in ("kk", "ru"):
        for key in ("title", "field1", "field2", "confirm", "official"):
            assert " ".join(FORM2[lang][key].split()) in text, (lang, key)
    for word in ("ә", "ғ", "қ", "ң", "ө", "ұ", "ү", "і"):
        assert word in text
    assert "Мәдениет және ақпарат министрлігі" in text
    for i in range(2):
        assert f"http://127.0.0.1:9/casino-{i}" in text
    for sha in shas:
        assert sha in text or sha in text.replace(" ", "")
    images = sum(len(p.images) for p in reader.pages)
    assert images >= 2
    # Fonts are embedded as subsets ("ABCDEF+DejaVu-..."), so no box glyphs anywhere.
    fonts = {
        str(f.get_object().get("/BaseFont", ""))
        for p in reader.pages
        for f in (p.get("/Resources", {}).get("/Font", {}) or {}).values()
    }
    assert fonts and all("+DejaVu" in f for f in fonts), fonts
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Бұзушылық түрі" in out and "Вид нарушения" in out


def test_missing_screenshot_file_refuses_to_render(db, store) -> None:
    with db.session() as s:
        d = detection(s, store, "http://127.0.0.1:9/casino")
        confirm_all(s, [d])
        notice = build_drafts(s, authority="X").notices[0]
        nid, sha = notice.id, notice.facts[0].screenshot_sha256
    store.path(sha).unlink()
    with db.session() as s, pytest.raises(FileNotFoundError):
        render_notice(s, store, nid, "pdf")


def test_unknown_notice_and_format(db, store) -> None:
    from notices.export import ExportError

    with db.session() as s:
        with pytest.raises(ExportError, match="notice 99 does not exist"):
            render_notice(s, store, 99, "json")
        with pytest.raises(ExportError, match="unknown format"):
            render_notice(s, store, 1, "odt")
    assert Notice  # imported for type clarity
