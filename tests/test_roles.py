"""Every route of the review app refuses anonymous users and wrong roles; sessions live
server-side; logins are rate-limited; accounts are managed from the CLI."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from evidence.store import LocalArtifactStore
from kuzet.cli import app as cli
from kuzet.db import utcnow
from kuzet.models import AuditEvent, DetectionStatus, Role, User, WebSession
from kuzet.users import create_user
from notices.builder import build_drafts
from review import auth
from review.app import create_app
from tests.factories import detection

pytestmark = pytest.mark.both_databases

PASSWORD = "correct horse battery"
PUBLIC = {"/login", "/healthz", "/metrics"}


@pytest.fixture
def world(db, settings) -> dict[str, object]:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        for role in Role:
            create_user(s, f"user_{role.value}", PASSWORD, role=role)
        det = detection(s, store, "http://127.0.0.1:9/casino")
        other = detection(s, store, "http://127.0.0.1:9/bonus")
        other.status = DetectionStatus.CONFIRMED
        notice = build_drafts(s, authority="Орган").notices[0]
        sha = det.capture.artifacts[0].sha256
        return {
            "detection_id": det.id,
            "notice_id": notice.id,
            "fact_id": notice.facts[0].id,
            "sha256": sha,
            "fmt": "json",
        }


@pytest.fixture
def app(settings, db):
    return create_app(settings, db)


def allowed_roles(route: APIRoute) -> frozenset[Role] | None:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, auth.Allow):
            return dep.call.roles
        stack += dep.dependencies
    return None


def routes(app) -> list[tuple[str, str, APIRoute]]:
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path not in PUBLIC:
            for method in sorted(route.methods):
                out.append((method, route.path, route))
    return out


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the form"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_every_route_names_its_roles(app) -> None:
    found = routes(app)
    assert len(found) >= 9
    missing = [f"{m} {p}" for m, p, r in found if allowed_roles(r) is None]
    assert not missing, f"routes without an Allow(...) dependency: {missing}"


def test_anonymous_and_wrong_roles_are_refused_everywhere(app, world) -> None:
    checked = 0
    signed_in = {}
    for role in Role:
        client = TestClient(app, follow_redirects=False)
        assert login(client, f"user_{role.value}").status_code == 303
        signed_in[role] = (client, csrf(client.get("/login").text))
    for method, path, route in routes(app):
        url = path.format(**world)
        anon = TestClient(app, follow_redirects=False)
        r = anon.request(method, url)
        if method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
        else:
            assert r.status_code == 401, url
        roles = allowed_roles(route)
        for role in Role:
            client, token = signed_in[role]
            if path == "/logout":  # ends the shared session: a session of its own
                client = TestClient(app, follow_redirects=False)
                assert login(client, f"user_{role.value}").status_code == 303
                token = csrf(client.get("/login").text)
            r = client.request(method, url, data={"csrf_token": token, "reason": "test"})
            if role in roles:
                assert r.status_code not in (401, 403), f"{role} refused at {method} {url}"
            else:
                assert r.status_code == 403, f"{role} let through at {method} {url}"
            checked += 1
    assert checked >= 9 * len(Role)


def test_posts_without_csrf_token_are_refused(app, world) -> None:
    client = TestClient(app, follow_redirects=False)
    for method, path, route in routes(app):
        if method != "POST":
            continue
        role = sorted(allowed_roles(route))[0]
        client.cookies.clear()
        assert login(client, f"user_{role.value}").status_code == 303
        r = client.post(path.format(**world), data={"reason": "test"})
        assert r.status_code == 403, f"POST {path} accepted without a CSRF token"


def test_sessions_are_server_side(app, db, world) -> None:
    client = TestClient(app, follow_redirects=False)
    assert login(client, "user_officer").status_code == 303
    cookie = client.cookies.get(auth.COOKIE)
    assert cookie and client.get("/").status_code == 200
    with db.session() as s:
        row = s.scalars(select(WebSession)).one()
        assert row.token_sha256 != cookie  # only the hash is stored

    # Idle too long: the session is gone.
    with db.session() as s:
        s.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=1)))
    assert client.get("/").status_code == 303

    # Logged out: the same cookie no longer opens anything.
    assert login(client, "user_officer").status_code == 303
    cookie = client.cookies.get(auth.COOKIE)
    token = csrf(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    replay = TestClient(app, follow_redirects=False, cookies={auth.COOKIE: cookie})
    assert replay.get("/").status_code == 303

    # Disabled from the CLI: an open session ends at once.
    assert login(client, "user_officer").status_code == 303
    assert client.get("/").status_code == 200
    r = CliRunner().invoke(
        cli, ["users", "disable", "user_officer"], env=app.state.settings.to_env()
    )
    assert r.exit_code == 0, r.output
    assert client.get("/").status_code == 303
    assert login(client, "user_officer").status_code == 401


def test_login_is_rate_limited(app, db, world) -> None:
    client = TestClient(app, follow_redirects=False)
    for _ in range(auth.LOGIN_FAILURES):
        assert login(client, "user_head", "wrong password!").status_code == 401
    r = login(client, "user_head")  # the right password, too late
    assert r.status_code == 429
    with db.session() as s:
        failed = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()
        assert len(failed) == auth.LOGIN_FAILURES and failed[0].details["ip"]
    # The same address is refused for any account; another address for another one is not.
    assert login(client, "user_officer").status_code == 429
    elsewhere = TestClient(app, follow_redirects=False, client=("10.0.0.2", 50000))
    assert login(elsewhere, "user_officer").status_code == 303


def test_users_cli_roles_and_inactive(settings, db) -> None:
    env = settings.to_env()
    runner = CliRunner()
    r = runner.invoke(
        cli,
        ["users", "add", "asel", "--role", "officer", "--password-env", "PW"],
        env={**env, "PW": PASSWORD},
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["users", "set-role", "asel", "head"], env=env)
    assert r.exit_code == 0 and "officer → head" in r.output
    r = runner.invoke(cli, ["users", "set-role", "nobody", "head"], env=env)
    assert r.exit_code == 1 and "nobody" in r.output
    with db.session() as s:
        old = create_user(s, "old_timer", PASSWORD, role=Role.MONITOR)
        old.created_at = utcnow() - timedelta(days=400)
        old.last_login_at = utcnow() - timedelta(days=200)
        recent = create_user(s, "recent", PASSWORD, role=Role.ANALYST)
        recent.created_at = utcnow() - timedelta(days=400)
        recent.last_login_at = utcnow() - timedelta(days=10)
        assert s.scalars(select(User).where(User.username == "asel")).one().role == Role.HEAD
    r = runner.invoke(cli, ["--lang", "ru", "users", "inactive"], env=env)
    assert r.exit_code == 0, r.output
    assert "old_timer" in r.output and "recent" not in r.output and "asel" not in r.output
    assert "Учётных записей без активности 183 дней: 1." in r.output
