"""Drafting, signing and sending notices in the review UI."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from evidence.store import LocalArtifactStore
from kuzet.models import AuditEvent, DetectionStatus, Notice, NoticeStatus, Role
from kuzet.users import create_user
from notices.builder import build_drafts
from notices.signing import verify_pdf
from review.app import create_app
from tests.factories import detection
from tests.keys import head_key

pytestmark = pytest.mark.both_databases

PASSWORD = "correct horse battery"


@pytest.fixture
def notice_id(db, settings) -> int:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        create_user(s, "officer1", PASSWORD, role=Role.OFFICER)
        create_user(s, "head1", PASSWORD, role=Role.HEAD, full_name="Ерлан Сейітқали")
        for url in ("http://127.0.0.1:9/a", "http://127.0.0.1:9/b"):
            detection(s, store, url).status = DetectionStatus.CONFIRMED
        return build_drafts(s, authority="").notices[0].id


def client_for(settings, db, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(settings, db), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    # Signing in starts a new CSRF state; the form token from before is void.
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client, token


def test_draft_edit_sign_send_and_revise(settings, db, notice_id, tmp_path) -> None:
    officer, token = client_for(settings, db, "officer1")
    base = f"/notices/{notice_id}"
    r = officer.post(
        f"{base}/authority", data={"authority": "Ақпарат комитеті", "csrf_token": token}
    )
    assert r.status_code == 303
    with db.session() as s:
        notice = s.get(Notice, notice_id)
        assert notice.authority == "Ақпарат комитеті"
        first, second = [f.id for f in notice.facts]
        det_of_first = notice.facts[0].detections[0].id

    # Remove fact 1: fact 2 becomes 1, and the detection is offered to add back.
    r = officer.post(f"{base}/facts/{first}/remove", data={"csrf_token": token})
    assert r.status_code == 303
    page = officer.get(base).text
    assert f'name="detection" value="{det_of_first}"' in page
    with db.session() as s:
        notice = s.get(Notice, notice_id)
        assert [(f.id, f.position) for f in notice.facts] == [(second, 1)]
    r = officer.post(f"{base}/facts/add", data={"detection": [det_of_first], "csrf_token": token})
    assert r.status_code == 303
    with db.session() as s:
        assert [f.url for f in s.get(Notice, notice_id).facts] == [
            "http://127.0.0.1:9/b",
            "http://127.0.0.1:9/a",
        ]
    # A detection that does not belong is refused, naming it.
    r = officer.post(f"{base}/facts/add", data={"detection": [999], "csrf_token": token})
    assert r.status_code == 400 and "999" in r.text

    # The officer sees no signing form; the head signs with an uploaded key.
    assert 'action="' + base + '/sign"' not in officer.get(base).text
    head, head_token = client_for(settings, db, "head1")
    assert 'action="' + base + '/sign"' in head.get(base).text
    p12, _ = head_key("key password 1")
    r = head.post(
        f"{base}/sign",
        data={"password": "wrong", "csrf_token": head_token},
        files={"key": ("head.p12", p12, "application/x-pkcs12")},
    )
    assert r.status_code == 400 and "wrong password" in r.text
    r = head.post(
        f"{base}/sign",
        data={"password": "key password 1", "csrf_token": head_token},
        files={"key": ("head.p12", p12, "application/x-pkcs12")},
    )
    assert r.status_code == 303, r.text
    pdf = head.get(f"{base}/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    with db.session() as s:
        notice = s.get(Notice, notice_id)
        assert notice.status == NoticeStatus.SIGNED and notice.signed_by.username == "head1"
        result = verify_pdf(pdf.content, store=LocalArtifactStore(settings.evidence_dir), session=s)
    assert result.valid, result.problems

    # Locked: edits are refused; a revision is a new draft superseding it.
    r = officer.post(f"{base}/authority", data={"authority": "X", "csrf_token": token})
    assert r.status_code == 400
    r = officer.post(f"{base}/revise", data={"csrf_token": token})
    assert r.status_code == 303
    new_id = int(r.headers["location"].split("/")[2].split("?")[0])
    with db.session() as s:
        old, new = s.get(Notice, notice_id), s.get(Notice, new_id)
        assert old.status == NoticeStatus.SUPERSEDED
        assert new.status == NoticeStatus.DRAFT and new.supersedes_id == notice_id
        assert [f.url for f in new.facts] == [f.url for f in old.facts]
        assert new.authority == "Ақпарат комитеті"

    # Signing the new draft, then sending it.
    r = head.post(
        f"/notices/{new_id}/sign",
        data={"password": "key password 1", "csrf_token": head_token},
        files={"key": ("head.p12", p12, "application/x-pkcs12")},
    )
    assert r.status_code == 303
    assert officer.post(f"/notices/{new_id}/sent", data={"csrf_token": token}).status_code == 303
    page = officer.get(f"/notices/{new_id}?lang=ru").text
    assert page.count("Ожидается") == 2  # each fact waits for its first re-check
    with db.session() as s:
        assert s.get(Notice, new_id).status == NoticeStatus.SENT
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    for action in ("notice.edited", "notice.signed", "notice.revised", "notice.sent"):
        assert action in actions
