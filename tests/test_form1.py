"""Form 1: the staff list in Kazakh and Russian, signed like a notice; the half-year
reminder."""

from __future__ import annotations

import re
import subprocess
import zipfile
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from kuzet.cli import app as cli
from kuzet.db import utcnow
from kuzet.models import AuditEvent, Role
from kuzet.users import create_user
from notices.signing import verify_pdf
from review.app import create_app
from tests.keys import head_key

pytestmark = pytest.mark.both_databases

PASSWORD = "correct horse battery"


def staff(db) -> None:
    with db.session() as s:
        create_user(
            s, "asel", PASSWORD, role=Role.OFFICER, full_name="Әсел Құрманғазықызы",
            email="asel@agency.kz", phone="+7 701 000 00 01",
        )  # fmt: skip
        create_user(s, "erlan", PASSWORD, role=Role.HEAD, full_name="Ерлан Сейітқали")
        create_user(s, "root", PASSWORD, role=Role.ADMIN, full_name="Admin")
        create_user(s, "gone", PASSWORD, role=Role.OFFICER, full_name="Уволен").is_active = False


def test_form1_signed_pdf_docx_and_reminder(settings, db, tmp_path) -> None:
    staff(db)
    env = settings.to_env()
    runner = CliRunner()
    r = runner.invoke(cli, ["form1", "status"], env=env)
    assert r.exit_code == 2  # never exported: due

    p12, _ = head_key("form one pass")
    (tmp_path / "head.p12").write_bytes(p12)
    pdf = tmp_path / "form1.pdf"
    r = runner.invoke(
        cli,
        ["form1", "export", "--output", str(pdf), "--key", str(tmp_path / "head.p12")],
        env={**env, "KUZET_LANG": "ru"},
        input="form one pass\n",
    )
    assert r.exit_code == 0, r.output
    assert "сотрудников: 2" in r.output  # the officer and the head; not admin, not disabled
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    text = " ".join(text.split())  # table headers wrap inside their cells
    for expected in ("Әсел Құрманғазықызы", "asel@agency.kz", "+7 701 000 00 01",
                     "Жұмыс электрондық поштасы", "Рабочая электронная почта"):  # fmt: skip
        assert expected in text
    assert "Уволен" not in text and "Admin" not in text
    result = verify_pdf(pdf.read_bytes(), store=None, trust_roots=[])
    assert result.signed and result.intact and result.whole_file
    out = subprocess.run(["pdfsig", "-nocert", str(pdf)], capture_output=True, text=True)
    assert "Signature is Valid" in out.stdout

    docx = tmp_path / "form1.docx"
    r = runner.invoke(cli, ["form1", "export", "-f", "docx", "-o", str(docx)], env=env)
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(docx) as z:
        body = z.read("word/document.xml").decode()
    assert "Әсел Құрманғазықызы" in body and "Ұялы телефон" in body

    assert runner.invoke(cli, ["form1", "status"], env=env).exit_code == 0
    # Six months on, the head sees a reminder in the UI.
    client = TestClient(create_app(settings, db), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "erlan", "password": PASSWORD, "csrf_token": token})
    assert 'class="error reminder"' not in client.get("/").text
    with db.session() as s:
        s.execute(
            update(AuditEvent)
            .where(AuditEvent.action == "form1.exported")
            .values(at=utcnow() - timedelta(days=200))
        )
    assert 'class="error reminder"' in client.get("/").text
    assert runner.invoke(cli, ["form1", "status"], env=env).exit_code == 2
