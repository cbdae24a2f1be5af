"""The review UI under attack, served for real (uvicorn with ``kuzet serve``'s own
configuration, on a loopback port): parallel password guessing, spoofed proxy headers,
session fixation, metrics and health probes from outside. Passwords, keys and file
modes: tests/test_web_hardening_accounts.py."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from evidence.store import LocalArtifactStore
from kuzet.db import Database, utcnow
from kuzet.models import AuditEvent, Capture, LoginThrottle
from review import auth
from review.app import create_app
from scheduler.ops import CachedMetrics, metrics
from tests.factories import detection, officer
from tests.webserver import serve_app

PASSWORD = "correct horse battery"
ATTEMPTS = 30


def served(app: FastAPI):  # type: ignore[no-untyped-def]
    """``app`` on a real loopback port, configured as ``kuzet serve`` does; its URL."""
    return serve_app(app)


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the form"
    return m.group(1)


def browser(base: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    return http, csrf(http.get(f"{base}/login").text)


def post_login(
    http: requests.Session, base: str, username: str, password: str, token: str, **headers: str
) -> requests.Response:
    return http.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        allow_redirects=False,
    )


def failed_logins(db: Database) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")))


# ------------------------------------------------------------------ (1) guessing


@pytest.mark.both_databases
def test_thirty_parallel_guesses_get_at_most_five_password_checks(settings, db, backend) -> None:
    with db.session() as s:
        uid = officer(s).id
    with served(create_app(settings, db)) as base:
        browsers = [browser(base) for _ in range(ATTEMPTS)]
        start = threading.Barrier(ATTEMPTS)

        def guess(b: tuple[requests.Session, str]) -> int:
            start.wait()
            return post_login(b[0], base, "officer1", "wrong password!", b[1]).status_code

        with ThreadPoolExecutor(ATTEMPTS) as pool:
            codes = list(pool.map(guess, browsers))
        assert set(codes) <= {401, 429}, codes
        assert codes.count(401) <= auth.LOGIN_FAILURES, codes
        assert codes.count(429) >= ATTEMPTS - auth.LOGIN_FAILURES
        # Only the attempts let through had their password checked and logged.
        assert len(failed_logins(db)) == codes.count(401)
        with db.session() as s:
            row = s.get(LoginThrottle, (auth.ACCOUNT, str(uid)))
            assert row is not None and row.failures == ATTEMPTS
        # While blocked, even the right password is refused.
        http, token = browsers[0]
        assert post_login(http, base, "officer1", PASSWORD, token).status_code == 429


def test_attempted_names_are_not_logged_verbatim(settings, db) -> None:
    with db.session() as s:
        uid = officer(s).id
    typed = "my-password-typed-as-name"
    with served(create_app(settings, db)) as base:
        http, token = browser(base)
        assert post_login(http, base, typed, "whatever it is", token).status_code == 401
        assert post_login(http, base, "officer1", "wrong password!", token).status_code == 401
    by_name, by_user = failed_logins(db)
    key = hmac.new(settings.secret_key().encode(), b"kuzet login name", hashlib.sha256).digest()
    expected = hmac.new(key, typed.encode(), hashlib.sha256).hexdigest()
    assert (by_name.object_type, by_name.object_id) == ("login_name", expected)
    assert typed not in repr((by_name.object_id, by_name.details, by_name.actor))
    assert (by_user.object_type, by_user.object_id) == ("user", str(uid))
    with db.session() as s:
        keys = set(s.scalars(select(LoginThrottle.key)))
    assert expected in keys and typed not in keys


def test_a_block_ends_with_its_window_and_old_windows_are_swept(settings, db) -> None:
    with db.session() as s:
        officer(s)
    client = TestClient(create_app(settings, db), follow_redirects=False)

    def attempt(username: str, password: str) -> int:
        token = csrf(client.get("/login").text)
        data = {"username": username, "password": password, "csrf_token": token}
        return client.post("/login", data=data).status_code

    for i in range(auth.LOGIN_FAILURES):
        assert attempt(f"sprayed{i}", "guess guess") == 401
    assert attempt("officer1", PASSWORD) == 429
    with db.session() as s:  # a quarter of an hour later
        for row in s.scalars(select(LoginThrottle)):
            row.window_start -= auth.LOGIN_WINDOW + timedelta(seconds=1)
    assert attempt("officer1", PASSWORD) == 303
    with db.session() as s:
        left = {(r.kind, r.failures) for r in s.scalars(select(LoginThrottle))}
    assert left == {(auth.ACCOUNT, 0), (auth.ADDRESS, 0)}  # the sprayed names are gone


# ------------------------------------------------------------------ (2) proxies


def test_spoofed_forwarded_for_does_not_reset_the_address_limit(settings, db) -> None:
    with served(create_app(settings, db)) as base:  # no trusted proxies
        http, token = browser(base)
        for i in range(auth.LOGIN_FAILURES):  # a new name each time: only the address adds up
            r = post_login(
                http, base, f"nobody{i}", "guess guess", token, X_Forwarded_For=f"198.51.100.{i}"
            )
            assert r.status_code == 401
        r = post_login(http, base, "nobody-else", "guess", token, X_Forwarded_For="198.51.100.99")
        assert r.status_code == 429
    assert {e.details["ip"] for e in failed_logins(db)} == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_counts(settings, db) -> None:
    with db.session() as s:
        officer(s)
    app = create_app(replace(settings, trusted_proxies=("127.0.0.0/8", "10.0.0.0/8")), db)
    with served(app) as base:
        http, token = browser(base)
        for i in range(auth.LOGIN_FAILURES):
            # The client writes anything at the left; the proxies append what they saw.
            xff = f"203.0.113.{i}, 192.0.2.10, 10.1.1.1"
            r = post_login(http, base, f"nobody{i}", "guess guess", token, X_Forwarded_For=xff)
            assert r.status_code == 401
        xff = "127.0.0.1, 192.0.2.10, 10.1.1.1"
        r = post_login(http, base, "officer1", PASSWORD, token, X_Forwarded_For=xff)
        assert r.status_code == 429
        other, other_token = browser(base)
        r = post_login(other, base, "officer1", PASSWORD, other_token, X_Forwarded_For="192.0.2.11")
        assert r.status_code == 303
    assert {e.details["ip"] for e in failed_logins(db)} == {"192.0.2.10"}


def test_cookies_are_secure_over_https_only_as_a_trusted_proxy_says(settings, db) -> None:
    with db.session() as s:
        officer(s)

    def set_cookies(app: FastAPI) -> list[str]:
        with served(app) as base:
            http, token = browser(base)
            r = post_login(http, base, "officer1", PASSWORD, token, X_Forwarded_Proto="https")
            assert r.status_code == 303
            return r.raw.headers.getlist("set-cookie")

    trusted = set_cookies(create_app(replace(settings, trusted_proxies=("127.0.0.1",)), db))
    names = {c.split("=", 1)[0] for c in trusted}
    assert {"kuzet_sid", "kuzet_session"} <= names
    assert all("; secure" in c.lower() for c in trusted), trusted
    untrusted = set_cookies(create_app(settings, db))
    assert untrusted and not any("; secure" in c.lower() for c in untrusted), untrusted


@pytest.mark.parametrize(
    ("peer", "headers", "client", "scheme"),
    [
        # An untrusted peer's headers change nothing.
        ("198.51.100.7", [(b"x-forwarded-for", b"127.0.0.1")], "198.51.100.7", "http"),
        ("198.51.100.7", [(b"x-forwarded-proto", b"https")], "198.51.100.7", "http"),
        # Several headers are one list; the right-most untrusted hop is the client.
        (
            "10.0.0.1",
            [(b"x-forwarded-for", b"1.1.1.1, 203.0.113.9"), (b"x-forwarded-for", b"10.0.0.2")],
            "203.0.113.9",
            "http",
        ),
        ("10.0.0.1", [(b"x-forwarded-for", b"10.0.0.3, 10.0.0.2")], "10.0.0.3", "http"),
        ("::1", [(b"x-forwarded-for", b"[2001:db8::5]:443")], "2001:db8::5", "http"),
        ("10.0.0.1", [(b"x-forwarded-proto", b"https")], "10.0.0.1", "https"),
    ],
)
def test_trusted_proxies_decide_client_and_scheme(peer, headers, client, scheme) -> None:
    from review.proxy import TrustedProxies

    seen = {}

    async def inner(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        seen.update(client=scope["client"][0], scheme=scope["scheme"])

    mw = TrustedProxies(inner, ["10.0.0.0/8", "::1"])
    scope = {"type": "http", "client": (peer, 1234), "scheme": "http", "headers": headers}
    asyncio.run(mw(scope, None, None))
    assert seen == {"client": client, "scheme": scheme}


def test_a_bad_trusted_proxy_entry_is_refused(settings, db) -> None:
    with pytest.raises(ValueError, match="not-an-address"):
        create_app(replace(settings, trusted_proxies=("not-an-address",)), db)


# ------------------------------------------------------------------ (3) sessions


def test_login_rotates_the_session_and_the_csrf_state(settings, db) -> None:
    with db.session() as s:
        officer(s)
    with served(create_app(settings, db)) as base:
        http = requests.Session()
        http.cookies.set("kuzet_sid", "planted-by-an-attacker")
        before = csrf(http.get(f"{base}/login").text)
        state_before = http.cookies.get("kuzet_session")
        r = post_login(http, base, "officer1", PASSWORD, before)
        assert r.status_code == 303
        first = r.cookies["kuzet_sid"]
        assert first != "planted-by-an-attacker"
        after = csrf(http.get(f"{base}/").text)
        assert after != before and http.cookies.get("kuzet_session") != state_before
        # The CSRF token known before the sign-in is worth nothing after it.
        r = http.post(f"{base}/logout", data={"csrf_token": before}, allow_redirects=False)
        assert r.status_code == 403
        # Signing in again from the same browser ends the session it had.
        token = csrf(http.get(f"{base}/login").text)
        r = post_login(http, base, "officer1", PASSWORD, token)
        assert r.status_code == 303 and r.cookies["kuzet_sid"] != first
        stolen = requests.get(f"{base}/", cookies={"kuzet_sid": first}, allow_redirects=False)
        assert stolen.status_code == 303 and "/login" in stolen.headers["location"]
        assert http.get(f"{base}/", allow_redirects=False).status_code == 200


# ------------------------------------------------------------------ (4) metrics


def test_metrics_from_outside_need_the_token(settings, db) -> None:
    with served(create_app(replace(settings, trusted_proxies=("127.0.0.1",)), db)) as base:
        assert requests.get(f"{base}/metrics").status_code == 200  # this machine
        outside = {"X-Forwarded-For": "203.0.113.5"}
        assert requests.get(f"{base}/metrics", headers=outside).status_code == 403
    with_token = replace(settings, trusted_proxies=("127.0.0.1",), metrics_token="s3cret-token")
    with served(create_app(with_token, db)) as base:
        r = requests.get(f"{base}/metrics", headers=outside)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        wrong = {**outside, "Authorization": "Bearer guessed"}
        assert requests.get(f"{base}/metrics", headers=wrong).status_code == 401
        right = {**outside, "Authorization": "Bearer s3cret-token"}
        r = requests.get(f"{base}/metrics", headers=right)
        assert r.status_code == 200 and "kuzet_detections_total" in r.text
    # A peer that is not loopback, with no proxy in between.
    far = TestClient(create_app(settings, db), client=("203.0.113.5", 40000))
    assert far.get("/metrics").status_code == 403


@pytest.mark.both_databases
def test_metrics_add_up_in_the_database_and_are_cached(settings, db, backend) -> None:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        for i, seconds in enumerate((0.5, 3, 45, 400)):
            det = detection(s, store, f"http://127.0.0.1:9/{i}")
            cap = s.get(Capture, det.capture_id)
            cap.finished_at = utcnow()
            cap.started_at = cap.finished_at - timedelta(seconds=seconds)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        text = metrics(db)
        cached = CachedMetrics(db, ttl_s=3600)
        assert cached() == text
        n = len(statements)
        assert cached() == text and len(statements) == n  # the second scrape: no query
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    on_captures = [q for q in statements if "from captures" in q]
    assert on_captures and all("count(" in q for q in on_captures), on_captures
    assert 'kuzet_capture_seconds_bucket{le="1"} 1' in text
    assert 'kuzet_capture_seconds_bucket{le="5"} 2' in text
    assert 'kuzet_capture_seconds_bucket{le="60"} 3' in text
    assert 'kuzet_capture_seconds_bucket{le="300"} 3' in text
    assert "kuzet_capture_seconds_count 4" in text
    total = float(re.search(r"kuzet_capture_seconds_sum (\S+)", text).group(1))
    assert abs(total - 448.5) < 0.01


# ------------------------------------------------------------------ (5) health


def test_healthz_with_a_broken_database_says_nothing_of_it(settings, closed_port, caplog) -> None:
    url = f"postgresql+psycopg://kuzet:db-password-x@127.0.0.1:{closed_port}/kuzet"
    broken = Database(url, migrate=False)
    with caplog.at_level(logging.ERROR), served(create_app(settings, broken)) as base:
        r = requests.get(f"{base}/healthz")
    assert r.status_code == 503 and r.text == "database unavailable\n"
    assert str(closed_port) not in r.text and "password" not in r.text
    assert any(rec.exc_info for rec in caplog.records if "health check" in rec.getMessage())
    broken.dispose()
