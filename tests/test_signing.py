"""Signing notices with the head's PKCS#12 key, locking them, and verifying the PDF."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from evidence.store import LocalArtifactStore
from kuzet.cli import app
from kuzet.models import AuditEvent, DetectionStatus, Notice, NoticeStatus
from notices.builder import build_drafts
from notices.render import ATTACHMENT_NAME
from tests.factories import detection
from tests.keys import head_key

pytestmark = pytest.mark.both_databases

PASSWORD = "head-key-pass"


@pytest.fixture
def store(settings):
    return LocalArtifactStore(settings.evidence_dir)


@pytest.fixture
def draft(db, store) -> int:
    with db.session() as s:
        dets = [
            detection(s, store, "http://127.0.0.1:9/casino"),
            detection(s, store, "http://127.0.0.1:9/bonus"),
        ]
        for d in dets:
            d.status = DetectionStatus.CONFIRMED
        return build_drafts(s, authority="Ақпарат комитеті").notices[0].id


@pytest.fixture
def key(tmp_path):
    p12, pem = head_key(PASSWORD)
    (tmp_path / "head.p12").write_bytes(p12)
    (tmp_path / "head.pem").write_bytes(pem)
    return tmp_path / "head.p12"


def run(settings, *args: str, **env: str):
    return CliRunner().invoke(app, list(args), env={**settings.to_env(), **env})


def sign(settings, notice_id: int, key, *extra: str):
    return run(settings, "notices", "sign", str(notice_id), "--key", str(key), *extra)


def test_sign_lock_export_and_verify(settings, db, store, draft, key, tmp_path) -> None:
    r = sign(settings, draft, key, "--password", PASSWORD)
    assert r.exit_code == 0, r.output
    with db.session() as s:
        notice = s.get(Notice, draft)
        assert notice.status == NoticeStatus.SIGNED
        assert "Ерлан Сейітқали" in notice.signer_subject
        signed_sha = notice.signed_pdf_sha256
        assert store.verify(signed_sha)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "notice.signed")).one()
        assert event.details["pdf_sha256"] == signed_sha

    # Locked: a second signature is refused, and the export is the signed file itself.
    again = sign(settings, draft, key, "--password", PASSWORD)
    assert again.exit_code == 1 and "not a draft" in again.output
    pdf = tmp_path / "notice.pdf"
    r = run(settings, "notices", "export", str(draft), "--format", "pdf", "--output", str(pdf))
    assert r.exit_code == 0, r.output
    data = pdf.read_bytes()
    assert store.open_bytes(signed_sha) == data

    # The notice as data travels inside the signed PDF.
    from pypdf import PdfReader

    attached = json.loads(PdfReader(io.BytesIO(data)).attachments[ATTACHMENT_NAME][0])
    assert [f["url"] for f in attached["facts"]] == [
        "http://127.0.0.1:9/casino",
        "http://127.0.0.1:9/bonus",
    ]

    r = run(settings, "--lang", "ru", "notices", "verify", str(pdf))
    assert r.exit_code == 0, r.output
    assert "Подпись действительна" in r.output
    assert r.output.count(" ok") == 2

    # Trusted also by the signer's certificate as a trust root.
    r = run(settings, "notices", "verify", str(pdf), "--trust", str(tmp_path / "head.pem"))
    assert r.exit_code == 0, r.output

    # poppler agrees the signature is valid (it has no trust list for a self-signed key).
    if shutil.which("pdfsig") is None:
        pytest.fail("pdfsig not found: run ./scripts/setup (poppler-utils)")
    out = subprocess.run(["pdfsig", "-nocert", str(pdf)], capture_output=True, text=True)
    assert "Signature is Valid" in out.stdout, out.stdout + out.stderr
    # Every font is embedded, so Kazakh letters print the same anywhere.
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(row[-5] == "yes" for row in rows), fonts


def test_verify_names_what_is_wrong(settings, db, store, draft, key, tmp_path) -> None:
    assert sign(settings, draft, key, "--password", PASSWORD).exit_code == 0
    with db.session() as s:
        notice = s.get(Notice, draft)
        data = store.open_bytes(notice.signed_pdf_sha256)
        shots = [f.screenshot_sha256 for f in notice.facts]

    # One byte changed inside the signed range: the signature no longer matches.
    tampered = bytearray(data)
    at = data.index(b"/Producer")
    tampered[at + 1] ^= 0x01
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(bytes(tampered))
    r = run(settings, "notices", "verify", str(bad))
    assert r.exit_code == 1
    assert "altered after signing" in r.output or "could not be validated" in r.output

    # Bytes appended after signing: not covered by the signature.
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(data + b"\n% appended later\n")
    r = run(settings, "notices", "verify", str(appended))
    assert r.exit_code == 1
    assert "does not cover the whole file" in r.output

    # An annex screenshot altered in the evidence store: named by its fact.
    good = tmp_path / "good.pdf"
    good.write_bytes(data)
    path = store.path(shots[1])
    path.chmod(0o644)
    path.write_bytes(b"not the screenshot")
    r = run(settings, "notices", "verify", str(good))
    assert r.exit_code == 1
    assert f"fact 2: screenshot {shots[1]} in the store was altered" in " ".join(r.output.split())

    # A PDF that was never signed.
    unsigned = tmp_path / "unsigned.pdf"
    with db.session() as s:
        from notices.render import PdfRenderer

        unsigned.write_bytes(PdfRenderer().render(s.get(Notice, draft), store))
    r = run(settings, "notices", "verify", str(unsigned))
    assert r.exit_code == 1 and "no signature" in r.output


def test_unknown_signer_is_not_trusted(settings, db, store, draft, key, tmp_path) -> None:
    assert sign(settings, draft, key, "--password", PASSWORD).exit_code == 0
    with db.session() as s:
        data = store.open_bytes(s.get(Notice, draft).signed_pdf_sha256)
    pdf = tmp_path / "n.pdf"
    pdf.write_bytes(data)
    _, other_pem = head_key("x" * 12, common_name="Someone else")
    (tmp_path / "other.pem").write_bytes(other_pem)
    r = run(settings, "notices", "verify", str(pdf), "--trust", str(tmp_path / "other.pem"))
    assert r.exit_code == 1 and "signer not trusted" in r.output


def test_wrong_password_or_file_leaves_the_draft(settings, db, draft, key, tmp_path) -> None:
    r = sign(settings, draft, key, "--password", "wrong password")
    assert r.exit_code == 1 and "head.p12" in r.output and "wrong password" in r.output
    r = sign(settings, draft, tmp_path / "missing.p12", "--password", PASSWORD)
    assert r.exit_code == 1 and "missing.p12" in r.output
    r = sign(settings, draft, key, "--password-env", "HEAD_PASS")
    assert r.exit_code == 1 and "HEAD_PASS" in r.output
    with db.session() as s:
        notice = s.get(Notice, draft)
        assert notice.status == NoticeStatus.DRAFT and notice.signed_pdf_sha256 is None
    # The password from an environment variable.
    r = run(
        settings,
        "notices",
        "sign",
        str(draft),
        "--key",
        str(key),
        "--password-env",
        "HEAD_PASS",
        HEAD_PASS=PASSWORD,
    )
    assert r.exit_code == 0, r.output


def test_sent_after_signing_only(settings, db, draft, key) -> None:
    r = run(settings, "notices", "mark-sent", str(draft))
    assert r.exit_code == 1 and "only a signed one" in r.output
    assert sign(settings, draft, key, "--password", PASSWORD).exit_code == 0
    assert run(settings, "notices", "mark-sent", str(draft)).exit_code == 0
    with db.session() as s:
        notice = s.get(Notice, draft)
        assert notice.status == NoticeStatus.SENT and notice.sent_at is not None
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "notice.sent")).one()
    r = run(settings, "notices", "mark-restricted", str(draft), "--order", " ")
    assert r.exit_code == 1 and "name the order" in r.output
    r = run(settings, "notices", "mark-restricted", str(draft), "--order", "№ 12 от 2026-11-23")
    assert r.exit_code == 0, r.output
    with db.session() as s:
        assert s.get(Notice, draft).status == NoticeStatus.RESTRICTED


def test_docx_export_in_both_languages(settings, draft, tmp_path) -> None:
    out = tmp_path / "n.docx"
    r = run(settings, "notices", "export", str(draft), "--format", "docx", "--output", str(out))
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as z:
        body = z.read("word/document.xml").decode("utf-8")
        images = [n for n in z.namelist() if n.startswith("word/media/")]
    for text in ("Хабарлама", "Уведомление", "Бұзушылық түрі", "Вид нарушения"):
        assert text in body
    assert "http://127.0.0.1:9/bonus" in body and "ЖОБА" in body
    assert len(images) == 2  # one screenshot per fact in the annex
