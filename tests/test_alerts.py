"""Alerts by e-mail (a local aiosmtpd server) and webhook (a local receiver): urgent
detections, URLs still online after a notice, the half-yearly reminders, digests, and
delivery retried after a failure."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from evidence.store import LocalArtifactStore
from kuzet.models import Alert, Role
from kuzet.users import create_user
from scheduler import alerts
from tests.factories import detection

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def webhook():
    received: list[dict] = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state["status"] == 200:
                received.append(json.loads(body))
            self.send_response(state["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield received, state, f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()
    httpd.server_close()


def subject_of(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def test_urgent_detection_alerts_once_by_mail_and_webhook(settings, db, smtp, webhook) -> None:
    inbox, smtp_url = smtp
    received, _, hook_url = webhook
    cfg = replace(settings, smtp_url=smtp_url, alert_to=("head@agency.kz",), alert_webhook=hook_url)
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        urgent = detection(s, store, "http://127.0.0.1:9/group", vtype="suicide_promotion",
                           rule_id="suicide.ru")  # fmt: skip
        detection(s, store, "http://127.0.0.1:9/casino")  # not an urgent category
        urgent_id = urgent.id
    assert alerts.scan_urgent(cfg, db, NOW) == 1
    assert alerts.scan_urgent(cfg, db, NOW) == 0  # once per detection
    assert alerts.deliver(cfg, db, NOW) == 1
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["To"] == "head@agency.kz"
    assert "Шұғыл / Срочно" in subject_of(msg) and "Пропаганда суицида" in subject_of(msg)
    assert f"/detections/{urgent_id}" in msg.get_payload(decode=True).decode()
    assert received[0]["alerts"][0]["kind"] == "urgent_detection"
    assert alerts.deliver(cfg, db, NOW) == 0  # nothing pending


def test_failed_delivery_is_kept_and_retried(settings, db, webhook) -> None:
    received, state, hook_url = webhook
    cfg = replace(settings, alert_webhook=hook_url)
    with db.session() as s:
        alerts.raise_alert(s, kind="test", subject="Тест", body="—", now=NOW)
    state["status"] = 500
    assert alerts.deliver(cfg, db, NOW) == 0
    with db.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert alert.sent_at is None and alert.attempts == 1 and "500" in alert.error
    state["status"] = 200
    assert alerts.deliver(cfg, db, NOW + timedelta(minutes=1)) == 1
    assert received[0]["alerts"][0]["subject"] == "Тест"


def test_digest_sends_one_message_per_period(settings, db, smtp) -> None:
    inbox, smtp_url = smtp
    cfg = replace(settings, smtp_url=smtp_url, alert_to=("duty@agency.kz",), alert_digest_min=30)
    with db.session() as s:
        for i in range(3):
            alerts.raise_alert(s, kind="test", subject=f"A{i}", body="…", now=NOW)
    assert alerts.deliver(cfg, db, NOW + timedelta(minutes=10)) == 0  # not yet
    assert alerts.deliver(cfg, db, NOW + timedelta(minutes=30)) == 3
    assert len(inbox.messages) == 1
    assert "3" in subject_of(inbox.messages[0])
    body = inbox.messages[0].get_payload(decode=True).decode()
    assert all(f"A{i}" in body for i in range(3))


def test_half_yearly_reminders(settings, db) -> None:
    with db.session() as s:
        user = create_user(s, "sleepy", "correct horse battery", role=Role.MONITOR)
        user.created_at = NOW - timedelta(days=400)
    assert alerts.reminders(settings, db, NOW) == ["form1_due", "inactive_accounts"]
    assert alerts.reminders(settings, db, NOW + timedelta(days=1)) == []  # not repeated daily
    # Form 1 is recalled monthly while due; the inactive list every half year.
    assert alerts.reminders(settings, db, NOW + timedelta(days=31)) == ["form1_due"]
    assert "inactive_accounts" in alerts.reminders(settings, db, NOW + timedelta(days=184))
    with db.session() as s:
        inactive = s.scalars(select(Alert).where(Alert.kind == "inactive_accounts")).first()
        assert "sleepy" in inactive.body
