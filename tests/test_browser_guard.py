"""The browser obeys the network guard: hostile pages try to reach an internal service
through a real capture in real Chromium, and nothing reaches it or gets stored.

The watched source lives on 127.0.0.1:PORT_A and allows private addresses, so its own
host is reachable; the "internal" service is another loopback host (127.0.0.2, or
127.0.0.1 on another port, or ``localhost``), which the source's allowance does not cover.
"""

from __future__ import annotations

import gzip
from dataclasses import replace

import pytest
from sqlalchemy import select

from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import Capture, CaptureStatus, CrawlRun, FetchStatus, Page, Source
from tests.factories import watched_page
from tests.test_netguard import server_on
from tests.webserver import WebServer, html

pytestmark = pytest.mark.browser

SECRET = "INTERNAL-SECRET-7731"


def _closed(settings: Settings) -> Settings:
    """The test settings without their allowance for 127.0.0.1 captures of no source."""
    return replace(settings, capture_allow_private=())


def queue_capture(db: Database, start_url: str, url: str) -> int:
    """A capture of ``url`` for a page of a source at ``start_url`` that allows private
    addresses (for its own host)."""
    with db.session() as s:
        page = watched_page(s, url, start_url=start_url)
        cap = Capture(page_id=page.id, url=url)
        s.add(cap)
        s.flush()
        return cap.id


def stored_text(settings: Settings, cap: Capture) -> str:
    """Everything the capture stored, as text (WARC and WACZ decompressed)."""
    store = LocalArtifactStore(settings.evidence_dir)
    out = []
    for art in cap.artifacts:
        data = store.open_bytes(art.sha256)
        if art.kind == "warc":
            data = gzip.decompress(data)
        out.append(data.decode("utf-8", "replace"))
    return "\n".join(out)


def _internal_servers() -> list[tuple[str, WebServer, str]]:
    """(label, server, the host a page names it by) for each internal target."""
    routes = {"/secret": html(f"<p>{SECRET}</p>")}
    other = server_on("127.0.0.2", routes)
    same_host = server_on("127.0.0.1", routes)  # the source's host, another port
    named = server_on("127.0.0.1", routes)
    v6 = server_on("::1", routes)
    return [
        ("[::1]", v6, v6.url),
        ("127.0.0.2", other, other.url),
        ("127.0.0.1-other-port", same_host, same_host.url),
        ("localhost", named, named.url.replace("127.0.0.1", "localhost")),
    ]


@pytest.mark.parametrize("target", ["127.0.0.2", "127.0.0.1-other-port", "localhost", "[::1]"])
def test_a_redirect_to_an_internal_host_is_refused(settings, db, chromium, target) -> None:
    servers = {label: (web, url) for label, web, url in _internal_servers()}
    internal, named = servers[target]
    site = WebServer({"/go": lambda p, h: (302, {"Location": f"{named}/secret"}, b"")})
    with internal, site:
        cid = queue_capture(db, site.url + "/", site.url + "/go")
        summary = run_captures(_closed(settings), db, [cid])
    assert internal.hits == {}  # not one request reached the internal service
    assert site.page_hits() == {"/go": 1}
    assert summary.failed == 1
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap.status == CaptureStatus.FAILED and cap.artifacts == []
        assert "refused by the network guard" in cap.error
        assert f"{named}/secret" in cap.error and "loopback" in cap.error


def test_frames_images_fetches_and_websockets_to_an_internal_host_are_refused(
    settings, db, chromium
) -> None:
    internal = server_on("127.0.0.2", {"/secret": html(f"<p>{SECRET}</p>")})
    port = internal.httpd.server_address[1]
    ws = f"ws://127.0.0.2:{port}/ws"
    page = (
        f"<p>Онлайн-казино</p>"
        f"<iframe src='{internal.url}/secret'></iframe>"
        f"<img src='{internal.url}/img.png'>"
        f"<script src='{internal.url}/script.js'></script>"
        f"<script>fetch('{internal.url}/fetch').then(r => r.text())"
        f".then(t => document.body.append(t)).catch(() => 0);"
        f"try {{ new WebSocket('{ws}'); }} catch (e) {{}}"
        f"window.open('{internal.url}/popup');</script>"
    )
    site = WebServer({"/": html(page)})
    with internal, site:
        cid = queue_capture(db, site.url + "/", site.url + "/")
        assert run_captures(_closed(settings), db, [cid]).succeeded == 1
    assert internal.hits == {}
    with db.session() as s:
        cap = s.get(Capture, cid)
        guard = cap.meta["network_guard"]
        assert guard["mode"] == "guarded"
        assert guard["private_hosts_allowed"] == [site.url.removeprefix("http://")]
        refused = {r["url"] for r in guard["refusals"]}
        for path in ("/secret", "/img.png", "/script.js", "/fetch"):
            assert internal.url + path in refused
        assert f"127.0.0.2:{port}" in refused  # the websocket's tunnel
        assert all(r["reason"] == "loopback" for r in guard["refusals"])
        assert cap.server_ip == "127.0.0.1"  # the server's address, not the guard's
        text = stored_text(settings, cap)
        assert "Онлайн-казино" in text and SECRET not in text


def test_a_capture_of_no_source_reaches_nothing_private(settings, db, chromium) -> None:
    site = WebServer({"/": html("<p>ішкі бет</p>")})
    with site:
        with db.session() as s:
            cap = Capture(url=site.url + "/")
            s.add(cap)
            s.flush()
            cid = cap.id
        assert run_captures(_closed(settings), db, [cid]).failed == 1
    assert site.hits == {}
    with db.session() as s:
        (cap,) = s.scalars(select(Capture)).all()
        assert "refused by the network guard" in cap.error


def test_a_rendered_crawl_reaches_no_internal_host(settings, db, chromium) -> None:
    """A source crawled through the browser: its page's script, frame and image point at
    an internal service, and a link on it 302-redirects there."""
    from crawler.runner import run_crawl

    internal = server_on("127.0.0.2", {"/secret": html(f"<p>{SECRET}</p>")})
    page = (
        "<p>Онлайн-казино</p><a href='/go'>next</a>"
        f"<iframe src='{internal.url}/secret'></iframe><img src='{internal.url}/img.png'>"
        f"<script>fetch('{internal.url}/fetch').then(r => r.text())"
        ".then(t => document.body.append(t)).catch(() => 0);</script>"
    )
    routes = {
        "/": html(page),
        "/go": lambda p, h: (302, {"Location": f"{internal.url}/secret"}, b""),
    }
    with internal, WebServer(routes) as site:
        with db.session() as s:
            s.add(Source(name="js", start_url=site.url + "/", render=True, allow_private=True))
        run_crawl(settings, db, ["js"])
    assert internal.hits == {}
    assert site.page_hits()["/"] == 1
    with db.session() as s:
        pages = {p.url.removeprefix(site.url): p for p in s.scalars(select(Page))}
        assert "Онлайн-казино" in (pages["/"].text or "")
        assert SECRET not in " ".join(p.text or "" for p in pages.values())
        assert pages["/go"].fetch_status == FetchStatus.FAILED
        (run,) = s.scalars(select(CrawlRun)).all()
        refused = {r["url"] for r in run.stats["kuzet/ssrf/browser_refusals"]}
        assert {f"{internal.url}/secret", f"{internal.url}/img.png"} <= refused


def test_the_crawler_allows_a_source_its_own_host_only(settings, db) -> None:
    """Scrapy's own downloader: a source allowed private addresses redirects to internal
    services beside its own host (another loopback address; its own address, another
    port)."""
    from crawler.runner import run_crawl

    internal = server_on("127.0.0.2", {"/secret": html(f"<p>{SECRET}</p>")})
    beside = server_on("127.0.0.1", {"/secret": html(f"<p>{SECRET}</p>")})
    page = "<p>Онлайн-казино</p><a href='/go'>a</a><a href='/go2'>b</a><a href='/own'>c</a>"
    routes = {
        "/": html(page),
        "/own": html("<p>өз беті</p>"),
        "/go": lambda p, h: (302, {"Location": f"{internal.url}/secret"}, b""),
        "/go2": lambda p, h: (302, {"Location": f"{beside.url}/secret"}, b""),
    }
    with internal, beside, WebServer(routes) as site:
        with db.session() as s:
            s.add(Source(name="site", start_url=site.url + "/", allow_private=True))
        run_crawl(settings, db, ["site"])
    assert internal.hits == {} and beside.hits == {}
    assert site.page_hits()["/own"] == 1
    with db.session() as s:
        failed = {
            p.url.removeprefix(site.url): p.error
            for p in s.scalars(select(Page))
            if p.fetch_status == FetchStatus.FAILED
        }
    assert failed["/go"] == "blocked: 127.0.0.2 is a non-public address (127.0.0.2)"
    assert failed["/go2"] == "blocked: 127.0.0.1 is a non-public address (127.0.0.1)"


def test_kuzet_capture_reaches_a_private_page_only_when_told(settings, db, chromium) -> None:
    from typer.testing import CliRunner

    from kuzet.cli import app
    from tests.test_cli import env

    internal = server_on("127.0.0.2", {"/secret": html(f"<p>{SECRET}</p>")})
    page = f"<p>Онлайн-казино</p><iframe src='{internal.url}/secret'></iframe>"
    closed = env(_closed(settings))
    with internal, WebServer({"/": html(page)}) as site:
        refused = CliRunner().invoke(app, ["--lang", "en", "capture", site.url + "/"], env=closed)
        assert refused.exit_code == 1 and site.hits == {}
        told = CliRunner().invoke(
            app, ["--lang", "en", "capture", "--allow-private", site.url + "/"], env=closed
        )
        assert told.exit_code == 0, told.output
    assert site.page_hits()["/"] == 1 and internal.hits == {}  # its own host, nothing else
    with db.session() as s:
        caps = s.scalars(select(Capture).order_by(Capture.id)).all()
        assert "refused by the network guard" in caps[0].error
        assert [r["url"] for r in caps[1].meta["network_guard"]["refusals"]] == [
            f"{internal.url}/secret"
        ]


def test_webrtc_sends_nothing_to_an_internal_host(settings, db, chromium) -> None:
    """STUN over UDP would go straight to the address a page names, past any proxy."""
    import socket
    import threading

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.2", 0))
    udp.settimeout(0.2)
    port = udp.getsockname()[1]
    received: list[bytes] = []
    stop, gathered = threading.Event(), threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                received.append(udp.recv(2048))
            except TimeoutError:
                continue

    page = f"""<p>rtc</p><img src="/wait"><script>
      const pc = new RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.2:{port}'}}]}});
      pc.createDataChannel('x');
      pc.onicegatheringstatechange = () => {{
        if (pc.iceGatheringState === 'complete') fetch('/done');
      }};
      pc.createOffer().then(o => pc.setLocalDescription(o));
    </script>"""

    def done(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        gathered.set()
        return 204, {}, b""

    def wait(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        gathered.wait(20)  # the page's load event waits for the browser's ICE gathering
        return 404, {}, b""

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        with WebServer({"/": html(page), "/done": done, "/wait": wait}) as site:
            cid = queue_capture(db, site.url + "/", site.url + "/")
            assert run_captures(_closed(settings), db, [cid]).succeeded == 1
    finally:
        stop.set()
        listener.join()
        udp.close()
    assert received == []
    assert gathered.is_set()  # the browser did gather its candidates (none reached out)


def test_a_rendered_page_records_its_server_not_the_guard(settings, db, chromium) -> None:
    from crawler.runner import run_crawl

    site = server_on("127.0.0.3", {"/": html("<p>Онлайн-казино</p>")})
    with site:
        with db.session() as s:
            s.add(Source(name="js", start_url=site.url + "/", render=True, allow_private=True))
        run_crawl(settings, db, ["js"])
    with db.session() as s:
        (page,) = s.scalars(select(Page)).all()
        assert page.fetch_status == FetchStatus.OK
        assert page.server_ip == "127.0.0.3"  # the guard proxy listens on 127.0.0.1
