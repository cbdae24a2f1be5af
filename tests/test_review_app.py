from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from evidence.store import LocalArtifactStore
from kuzet.models import AccessLogEntry, AuditEvent, Detection, DetectionStatus
from review.app import create_app
from tests.factories import detection, officer

PASSWORD = "correct horse battery"


@pytest.fixture
def ids(db, settings) -> dict[str, int]:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        a = detection(
            s,
            store,
            "http://127.0.0.1:9/casino",
            text="онлайн-казино <script>alert('x')</script> фриспины",
        )
        b = detection(
            s, store, "http://127.0.0.1:9/shop", vtype="drug_sales", rule_id="drugs.shop.ru"
        )
        c = detection(s, store, "http://127.0.0.1:9/noshot", capture_ok=False)
        return {"a": a.id, "b": b.id, "c": c.id}


@pytest.fixture
def client(settings, db) -> TestClient:
    return TestClient(create_app(settings, db), follow_redirects=False)


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the form"
    return m.group(1)


def login(client: TestClient, password: str = PASSWORD):
    token = csrf(client.get("/login").text)
    return client.post(
        "/login", data={"username": "officer1", "password": password, "csrf_token": token}
    )


def test_anonymous_users_are_sent_to_login(client, ids) -> None:
    for path in ("/", f"/detections/{ids['a']}", "/notices"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.post(f"/detections/{ids['a']}/confirm").status_code == 401
    assert client.get("/healthz").json() == {"status": "ok"}


def test_wrong_password_and_login_without_csrf_are_refused(client, ids, db) -> None:
    r = login(client, "wrong password!")
    assert r.status_code == 401 and "Құпия сөз" in r.text
    client.get("/login")
    r = client.post("/login", data={"username": "officer1", "password": PASSWORD})
    assert r.status_code == 403
    with db.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).first()


def test_queue_detail_and_decisions(client, ids, db) -> None:
    assert login(client).status_code == 303
    queue = client.get("/?lang=ru")
    assert queue.status_code == 200 and "Выявленные материалы" in queue.text
    assert "http://127.0.0.1:9/casino" in queue.text and "http://127.0.0.1:9/shop" in queue.text
    assert "kuzet_lang=ru" in queue.headers.get("set-cookie", "")
    # rows with a screenshot show it; the row whose capture failed says so instead
    assert queue.text.count('class="thumb"') == 2 and 'class="cap cap-failed"' in queue.text

    page = client.get(f"/detections/{ids['a']}")
    assert page.status_code == 200
    # Page text is escaped: a captured <script> can never run in the reviewer's browser.
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    csp = page.headers["content-security-policy"]
    # Scripts only from our own files: no inline script, no other origin.
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts == ['<script src="/static/keys.js">']
    token = csrf(page.text)

    # Without CSRF: refused.
    assert client.post(f"/detections/{ids['a']}/reject", data={"reason": "x"}).status_code == 403
    # Reject without a reason: refused (Rule 11), nothing changes.
    r = client.post(f"/detections/{ids['a']}/reject", data={"reason": "   ", "csrf_token": token})
    assert r.status_code == 400 and "обоснование" in r.text.lower()
    with db.session() as s:
        assert s.get(Detection, ids["a"]).status == DetectionStatus.PENDING
    # With a reason: accepted and audited.
    r = client.post(
        f"/detections/{ids['a']}/reject",
        data={"reason": "Новостная статья о блокировке, не реклама.", "csrf_token": token},
    )
    assert r.status_code == 303
    r = client.post(f"/detections/{ids['b']}/confirm", data={"csrf_token": token})
    assert r.status_code == 303
    # A decided detection cannot be decided again.
    r = client.post(
        f"/detections/{ids['b']}/reject", data={"reason": "передумал", "csrf_token": token}
    )
    assert r.status_code == 400
    with db.session() as s:
        a, b = s.get(Detection, ids["a"]), s.get(Detection, ids["b"])
        assert a.status == DetectionStatus.REJECTED and a.decision_reason.startswith("Новостная")
        assert b.status == DetectionStatus.CONFIRMED and b.decided_by.username == "officer1"
        actions = [(e.action, e.object_id, e.actor) for e in s.scalars(select(AuditEvent))]
        assert ("detection.rejected", str(ids["a"]), "officer1") in actions
        assert ("detection.confirmed", str(ids["b"]), "officer1") in actions
        # Views go to the access log, not one custody entry each.
        views = [(e.action, e.object_id, e.actor) for e in s.scalars(select(AccessLogEntry))]
        assert ("evidence.viewed", str(ids["a"]), "officer1") in views
        assert "evidence.viewed" not in {a for a, _, _ in actions}


def test_failed_capture_is_visible(client, ids) -> None:
    login(client)
    page = client.get(f"/detections/{ids['c']}?lang=en")
    assert "The screenshot was not captured" in page.text and "ERR_CONNECTION_REFUSED" in page.text
    assert 'class="cap cap-failed"' in client.get("/").text


def test_evidence_is_served_safely(client, ids, db) -> None:
    login(client)
    with db.session() as s:
        cap = s.get(Detection, ids["a"]).capture
        shot, html = cap.artifact("screenshot_full"), cap.artifact("html_rendered")
        shot_sha, html_sha = shot.sha256, html.sha256
    r = client.get(f"/evidence/{shot_sha}")
    assert (
        r.status_code == 200
        and r.headers["content-type"] == "image/png"
        and r.content.startswith(b"\x89PNG")
    )
    r = client.get(f"/evidence/{html_sha}")
    assert (
        r.headers["content-type"] == "application/octet-stream"
        and r.headers["content-disposition"]
        == f'attachment; filename="{html_sha}.html_rendered.txt"'
    )
    assert client.get("/evidence/" + "0" * 64).status_code == 404


def test_detail_shows_the_marked_passage_and_offers_the_archive(client, ids, db, settings) -> None:
    from evidence.store import LocalArtifactStore
    from kuzet.models import Artifact
    from tests.factories import png_for

    store = LocalArtifactStore(settings.evidence_dir)
    crop, wacz = store.put(png_for("crop")), store.put(b"PK\x03\x04 a wacz")
    with db.session() as s:
        cap = s.get(Detection, ids["a"]).capture
        cap.artifacts.append(
            Artifact(
                kind="screenshot_crop", media_type="image/png", sha256=crop.sha256, size=crop.size
            )
        )
        cap.artifacts.append(
            Artifact(
                kind="wacz", media_type="application/wacz+zip", sha256=wacz.sha256, size=wacz.size
            )
        )
        cap.meta = {"redirect_chain": [{"url": "http://short.kz/x", "status": 302}], "tls": None}
    login(client)
    page = client.get(f"/detections/{ids['a']}?lang=ru").text
    assert "Отмеченный фрагмент" in page and f'src="/evidence/{crop.sha256}"' in page
    assert "302 http://short.kz/x" in page and f'href="/evidence/{wacz.sha256}"' in page
    r = client.get(f"/evidence/{wacz.sha256}")
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == f'attachment; filename="{wacz.sha256}.wacz"'
    assert r.content == b"PK\x03\x04 a wacz"


def test_build_and_export_notice_from_the_ui(client, ids, db) -> None:
    login(client)
    token = csrf(client.get(f"/detections/{ids['b']}").text)
    client.post(f"/detections/{ids['b']}/confirm", data={"csrf_token": token})
    assert client.post("/notices/build", data={}).status_code == 403
    r = client.post("/notices/build", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/notices?built=1"
    listing = client.get("/notices?built=1&lang=kk")
    assert "Құрылған жобалар: 1." in listing.text
    nid = int(re.search(r'href="/notices/(\d+)"', listing.text).group(1))
    pdf = client.get(f"/notices/{nid}/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    js = client.get(f"/notices/{nid}/export.json").json()
    assert js["facts"][0]["url"] == "http://127.0.0.1:9/shop"


def test_logout_needs_csrf_and_ends_the_session(client, ids) -> None:
    login(client)
    token = csrf(client.get("/").text)
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303


def test_detail_explains_why_the_rule_fired(client, db, settings) -> None:
    from rules.engine import Document, Engine
    from rules.loader import load_rules

    hit = next(
        h
        for h in Engine(load_rules(settings.rules_dir)).evaluate(
            Document(
                url="https://kaspi-kz.top/login",
                html='<form><input type="password" name="pass"></form>',
            )
        )
        if h.rule.id == "phishing.lookalike-login"
    )
    with db.session() as s:
        officer(s)
        det = detection(s, None, "https://kaspi-kz.top/login", text="x")
        det.explanation = hit.explanation
        det_id = det.id
    assert login(client).status_code == 303
    page = client.get(f"/detections/{det_id}?lang=ru").text
    assert "Почему отмечено" in page and "похожий домен" in page and "признаки страницы" in page
    assert "<code>kaspi.kz</code>" in page and "<code>subdomain</code>" in page
    assert "password_input" in page
