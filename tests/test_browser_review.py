"""The review UI in real Chromium: log in, refuse a reason-less rejection, accept a reasoned one."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from evidence.browser import CHROMIUM_ARGS
from evidence.store import LocalArtifactStore
from kuzet.models import AuditEvent, Detection, DetectionStatus
from review.app import create_app
from tests.factories import detection, officer
from tests.webserver import serve_app


def served(settings, db):  # type: ignore[no-untyped-def]
    """The review UI on a real loopback port (uvicorn in a thread); its base URL."""
    return serve_app(create_app(settings, db))


@pytest.fixture
def live_ui(settings, db):
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        det_id = detection(s, store, "http://127.0.0.1:9/casino").id
    with served(settings, db) as base:
        yield base, det_id


def test_officer_rejects_only_with_a_reason(live_ui, db, chromium, tmp_path) -> None:
    base, det_id = live_ui
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/detections/{det_id}?lang=ru")
        assert "/login" in page.url
        page.fill("input[name=username]", "officer1")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/detections/{det_id}?lang=ru")
        assert page.locator(".shot img").evaluate("img => img.naturalWidth") > 0  # screenshot loads

        page.click("#reject")  # empty reason
        assert "обязательно письменное обоснование" in page.locator(".error").inner_text()
        with db.session() as s:
            assert s.get(Detection, det_id).status == DetectionStatus.PENDING

        page.fill("textarea[name=reason]", "Материал — новостной отчёт о блокировке, а не реклама.")
        page.click("#reject")
        page.wait_for_url(f"{base}/detections/{det_id}?done=rejected")
        assert "Отклонено" in page.locator("h1").inner_text()
        assert "новостной отчёт" in page.locator(".reason").inner_text()
        page.screenshot(path=str(tmp_path / "rejected.png"))
        browser.close()
    with db.session() as s:
        det = s.get(Detection, det_id)
        assert det.status == DetectionStatus.REJECTED and det.decided_by.username == "officer1"
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "detection.rejected")).one()
        assert ev.actor == "officer1" and "новостной" in ev.details["reason"]


@pytest.fixture
def live_flow(settings, db):
    """Four detections, an officer and a head, the UI on a real port."""
    from kuzet.models import Role
    from kuzet.users import create_user

    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        officer(s)
        create_user(s, "head1", "correct horse battery", role=Role.HEAD, full_name="Ерлан")
        ids = [
            detection(
                s, store, "http://127.0.0.1:9/news", text="онлайн-казино <script>alert(1)</script>"
            ).id,
            detection(s, store, "http://127.0.0.1:9/casino").id,
            detection(s, store, "http://127.0.0.1:9/bonus").id,
            detection(
                s, store, "http://127.0.0.1:9/shop", vtype="drug_sales", rule_id="drugs.shop.ru"
            ).id,
        ]
    with served(settings, db) as base:
        yield base, ids


def test_review_to_signed_notice_in_the_browser(
    live_flow, settings, db, chromium, tmp_path
) -> None:
    from kuzet.models import Notice, NoticeStatus
    from notices.signing import verify_pdf
    from tests.keys import head_key

    base, (news, casino, bonus, shop) = live_flow
    p12, _ = head_key("head key pass")
    (tmp_path / "head.p12").write_bytes(p12)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/?lang=ru")
        page.fill("input[name=username]", "officer1")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/?lang=ru")

        # Filter: only the gambling ones.
        page.select_option("select[name=violation_type]", "online_gambling")
        page.click("#filters button")
        page.wait_for_url("**violation_type=online_gambling**")
        rows = page.locator("tr[data-href]")
        assert rows.count() == 3
        assert f"/detections/{shop}" not in page.content()

        # Open the news page: its captured <script> is text, never run.
        page.goto(f"{base}/detections/{news}")
        assert "<script>alert(1)</script>" in page.locator(".ctx").first.inner_text()
        page.click("#reject")
        assert "обязательно" in page.locator(".error").inner_text()
        page.fill("#reject-reason", "Новостной материал о блокировке, не реклама.")
        page.click("#reject")
        page.wait_for_url(f"{base}/detections/{news}?done=rejected")

        # Confirm two: one with the keyboard shortcut, one with the button.
        page.goto(f"{base}/detections/{casino}")
        page.keyboard.press("c")
        page.wait_for_url(f"{base}/detections/{casino}?done=confirmed")
        page.goto(f"{base}/detections/{bonus}")
        page.click("#confirm")
        page.wait_for_url(f"{base}/detections/{bonus}?done=confirmed")

        # Build the notice.
        page.goto(f"{base}/notices")
        page.click("form[action='/notices/build'] button")
        page.wait_for_url("**/notices?built=1")
        page.click("table.grid a[href^='/notices/']")
        notice_url = page.url
        assert "Ерлан" not in page.content() and "sign-form" not in page.content()
        page.click("form[action='/logout'] button")

        # The head signs it with the key file.
        page.goto(notice_url)
        page.fill("input[name=username]", "head1")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(notice_url)
        page.set_input_files("input[name=key]", str(tmp_path / "head.p12"))
        page.fill(".sign-form input[name=password]", "head key pass")
        page.click(".sign-form button")
        page.wait_for_url("**?done=1")
        assert "Подписано" in page.locator("h1").inner_text()

        with page.expect_download() as info:
            page.click("a.button[href$='export.pdf']")
        pdf = tmp_path / "notice.pdf"
        info.value.save_as(pdf)
        browser.close()

    assert dialogs == []
    with db.session() as s:
        notice = s.scalars(select(Notice)).one()
        assert notice.status == NoticeStatus.SIGNED
        assert [f.url for f in notice.facts] == [
            "http://127.0.0.1:9/casino",
            "http://127.0.0.1:9/bonus",
        ]
        result = verify_pdf(
            pdf.read_bytes(), store=LocalArtifactStore(settings.evidence_dir), session=s
        )
    assert result.valid, result.problems
    assert [state for _, _, state in result.annex] == ["ok", "ok"]
