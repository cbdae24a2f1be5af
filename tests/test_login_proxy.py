"""Sources behind a login (saved profiles) and behind a proxy: crawler and capture alike."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from kuzet.cli import app
from kuzet.models import AuditEvent, Capture, CaptureStatus, Page, Source
from kuzet.profiles import cookie_header, parse_cookies_file
from tests.webserver import ProxyServer, WebServer

CABINET = (
    "<html><head><meta charset=utf-8><title>Жеке кабинет</title></head><body>"
    "<p>Онлайн-казино: бонус на первый депозит, фриспины и джекпот для VIP!</p></body></html>"
)


CASINO_PAGE = (
    "<html><head><meta charset=utf-8><title>Vulkan</title></head><body><p>"
    "Онлайн-казино: бонус на первый депозит, фриспины и джекпот!</p></body></html>"
).encode()


def casino_page(path: str, headers: dict[str, str]):
    """A casino advert the rules flag, served to whoever asks."""
    return 200, {}, CASINO_PAGE


def gated(path: str, headers: dict[str, str]):
    if "session=s3cr3t" not in headers.get("Cookie", ""):
        return 403, {}, b"<html><title>Login required</title><body>Please log in</body></html>"
    return 200, {}, CABINET.encode()


def test_cookie_files_parse_and_match(tmp_path) -> None:
    txt = tmp_path / "cookies.txt"
    txt.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts3cr3t\n"
        "#HttpOnly_.example.kz\tTRUE\t/vip\tTRUE\t4102444800\ttoken\tt1\n"
    )
    cookies = parse_cookies_file(txt)
    assert [c["name"] for c in cookies] == ["session", "token"] and cookies[1]["httpOnly"]
    state = {"cookies": cookies}
    assert cookie_header(state, "http://127.0.0.1:8000/x") == "session=s3cr3t"
    assert cookie_header(state, "https://news.example.kz/vip/a") == "token=t1"
    assert cookie_header(state, "http://news.example.kz/vip/a") is None  # secure cookie, http
    bad = tmp_path / "bad.txt"
    bad.write_text("# x\nonly\tthree\tfields\n")
    try:
        parse_cookies_file(bad)
    except ValueError as exc:
        assert str(exc).startswith(f"{bad}:2: ")
    else:
        raise AssertionError("bad cookies file accepted")


def test_login_profile_opens_the_gate_for_crawl_and_capture(
    settings, db, tmp_path, chromium
) -> None:
    from crawler.runner import run_crawl

    with WebServer({"/cabinet": gated}) as web:
        with db.session() as s:
            s.add(Source(name="vip", start_url=f"{web.url}/cabinet", allow_private=True))
        cookies = tmp_path / "cookies.json"
        cookies.write_text(
            json.dumps([{"name": "session", "value": "s3cr3t", "domain": "127.0.0.1", "path": "/"}])
        )
        r = CliRunner().invoke(
            app, ["sources", "login", "vip", "--cookies", str(cookies)], env=settings.to_env()
        )
        assert r.exit_code == 0, r.output
        assert (settings.profiles_dir / "vip.json").stat().st_mode & 0o777 == 0o600
        run_crawl(settings, db, ["vip"])
        assert run_captures(settings, db).succeeded == 1
    with db.session() as s:
        page = s.scalars(select(Page)).one()
        assert page.http_status == 200 and page.title == "Жеке кабинет"
        cap = s.scalars(select(Capture)).one()
        html = LocalArtifactStore(settings.evidence_dir).open_bytes(
            cap.artifact("html_rendered").sha256
        )
        assert "Жеке кабинет" in html.decode()  # the browser was logged in too
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "source.login_saved")).one()


def test_proxy_carries_crawl_and_capture(settings, db, chromium) -> None:
    from dataclasses import replace

    from crawler.runner import run_crawl

    site = {"/": casino_page}
    with ProxyServer({"casino.example.kz": site}) as proxy:
        with db.session() as s:
            # No allow_private: the proxy connects for us; the host itself does not resolve.
            s.add(Source(name="via-proxy", start_url="http://casino.example.kz/", proxy=proxy.url))
            s.add(Source(name="via-global", start_url="http://casino.example.kz/?global"))
        run_crawl(settings, db, ["via-proxy"])
        run_crawl(replace(settings, proxy=proxy.url), db, ["via-global"])
        assert run_captures(replace(settings, proxy=proxy.url), db).succeeded == 2
        hits = proxy.page_hits()
    assert hits["http://casino.example.kz/"] == 2  # crawl + capture
    assert hits["http://casino.example.kz/?global"] == 2
    # robots.txt went through the proxy too, not straight out from this machine
    assert hits["http://casino.example.kz/robots.txt"] >= 1
    with db.session() as s:
        assert {p.title for p in s.scalars(select(Page))} == {"Vulkan"}
        assert all(c.status == CaptureStatus.SUCCEEDED for c in s.scalars(select(Capture)))


def test_socks_proxy_goes_through_the_browser_for_crawl_robots_and_capture(
    settings, db, chromium
) -> None:
    from crawler.runner import run_crawl
    from tests.webserver import Socks5Server

    site = {"/": casino_page}
    with WebServer(site) as web:
        port = int(web.url.rsplit(":", 1)[1])
        with Socks5Server({"casino.example.kz:80": port}) as socks:
            with db.session() as s:
                s.add(Source(name="socks", start_url="http://casino.example.kz/", proxy=socks.url))
            result = run_crawl(settings, db, ["socks"])
            assert result.errors == []
            assert run_captures(settings, db).succeeded == 1
    assert web.page_hits()["/"] == 2  # crawl (in the browser) + capture, both via SOCKS
    assert web.hits["/robots.txt"] >= 1
    assert set(socks.connects) == {"casino.example.kz:80"}  # the name was resolved by the proxy
    with db.session() as s:
        assert s.scalars(select(Page)).one().title == "Vulkan"
