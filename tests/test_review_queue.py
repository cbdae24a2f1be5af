"""The review queue: filters, priority, bulk decisions, requests for information, graphic
content blurred, hashes re-checked on the detail page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from evidence.store import LocalArtifactStore
from kuzet.db import utcnow
from kuzet.models import AuditEvent, Detection, DetectionStatus, Role, Source
from kuzet.users import create_user
from review.app import create_app
from tests.factories import detection

pytestmark = pytest.mark.both_databases

PASSWORD = "correct horse battery"


@pytest.fixture
def ids(db, settings) -> dict[str, int]:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        create_user(s, "officer1", PASSWORD, role=Role.OFFICER)
        create_user(s, "analyst1", PASSWORD, role=Role.ANALYST)
        low = detection(s, store, "http://127.0.0.1:9/low")
        low.severity, low.confidence = "low", 0.9
        high_unsure = detection(s, store, "http://127.0.0.1:9/high-unsure")
        high_unsure.confidence = 0.3
        high_sure = detection(s, store, "http://127.0.0.1:9/high-sure")
        high_sure.confidence = 0.95
        old = detection(s, store, "http://127.0.0.1:9/old", vtype="pornography", rule_id="p.r")
        old.created_at = utcnow() - timedelta(days=40)
        other_source = Source(
            name="other-site", start_url="http://127.0.0.1:9/", allow_private=True
        )
        s.add(other_source)
        s.flush()
        low.page.source_id = other_source.id
        return {
            "low": low.id,
            "high_unsure": high_unsure.id,
            "high_sure": high_sure.id,
            "old": old.id,
        }


def signed_in(settings, db, username="officer1") -> tuple[TestClient, str]:
    client = TestClient(create_app(settings, db), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    # Signing in starts a new CSRF state; the form token from before is void.
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client, token


def order(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="sev-\w+" data-href="/detections/(\d+)"', html)]


def test_priority_and_filters(settings, db, ids) -> None:
    client, _ = signed_in(settings, db)
    # Severity first, then confidence: high & sure, high & unsure, (old, high), then low.
    shown = order(client.get("/").text)
    assert shown.index(ids["high_sure"]) < shown.index(ids["high_unsure"]) < shown.index(ids["low"])
    assert order(client.get("/?severity=low").text) == [ids["low"]]
    assert order(client.get("/?source=other-site").text) == [ids["low"]]
    assert order(client.get("/?violation_type=pornography").text) == [ids["old"]]
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    assert ids["old"] not in order(client.get(f"/?since={since}").text)
    until = (utcnow() - timedelta(days=30)).date().isoformat()
    assert order(client.get(f"/?until={until}").text) == [ids["old"]]
    # A half-typed date filters nothing and breaks nothing.
    assert len(order(client.get("/?since=2026-1").text)) == 4


def test_bulk_decisions_all_or_nothing(settings, db, ids) -> None:
    client, token = signed_in(settings, db)
    chosen = [ids["low"], ids["high_sure"]]
    # Reject without a reason: refused for all of them.
    r = client.post(
        "/detections/bulk", data={"ids": chosen, "outcome": "reject", "csrf_token": token}
    )
    assert r.status_code == 400
    with db.session() as s:
        assert {s.get(Detection, i).status for i in chosen} == {DetectionStatus.PENDING}
    r = client.post(
        "/detections/bulk",
        data={"ids": chosen, "outcome": "confirm", "csrf_token": token, "back": "/?severity=high"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/?severity=high&done=2"
    with db.session() as s:
        assert {s.get(Detection, i).status for i in chosen} == {DetectionStatus.CONFIRMED}
        logged = s.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "detection.confirmed")
        ).all()
        assert sorted(map(int, logged)) == sorted(chosen)  # one entry per detection
    # Already decided: a second bulk decision on them is refused.
    r = client.post(
        "/detections/bulk", data={"ids": chosen, "outcome": "confirm", "csrf_token": token}
    )
    assert r.status_code == 400


def test_needs_info_requires_a_question_and_stays_open(settings, db, ids) -> None:
    client, token = signed_in(settings, db)
    url = f"/detections/{ids['high_unsure']}/needs-info"
    r = client.post(url, data={"reason": "  ", "csrf_token": token})
    assert r.status_code == 400
    r = client.post(url, data={"reason": "Нужен скриншот мобильной версии", "csrf_token": token})
    assert r.status_code == 303
    with db.session() as s:
        det = s.get(Detection, ids["high_unsure"])
        assert det.status == DetectionStatus.NEEDS_INFO
        assert det.decision_reason == "Нужен скриншот мобильной версии"
    assert ids["high_unsure"] in order(client.get("/").text)  # still open
    r = client.post(f"/detections/{ids['high_unsure']}/confirm", data={"csrf_token": token})
    assert r.status_code == 303


def test_graphic_content_is_blurred_and_hashes_are_rechecked(settings, db, ids) -> None:
    client, _ = signed_in(settings, db)
    page = client.get(f"/detections/{ids['old']}").text
    assert 'class="shot-col graphic"' in page and 'id="reveal"' in page
    queue = client.get("/?violation_type=pornography").text
    assert 'class="thumb"' not in queue  # no thumbnail of graphic content in the list
    normal = client.get(f"/detections/{ids['low']}").text
    assert "graphic" not in normal.split('class="shot-col')[1][:20]
    assert normal.count("✓") >= 2 and "✗" not in normal

    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        sha = s.get(Detection, ids["low"]).capture.artifacts[0].sha256
    path = store.path(sha)
    path.chmod(0o644)
    path.write_bytes(b"altered")
    assert "✗" in client.get(f"/detections/{ids['low']}").text


def test_analysts_read_but_do_not_decide(settings, db, ids) -> None:
    client, token = signed_in(settings, db, "analyst1")
    page = client.get(f"/detections/{ids['low']}")
    assert page.status_code == 200 and 'id="confirm"' not in page.text
    assert 'name="ids"' not in client.get("/").text
    r = client.post(f"/detections/{ids['low']}/confirm", data={"csrf_token": token})
    assert r.status_code == 403
