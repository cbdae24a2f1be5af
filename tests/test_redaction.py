"""A proxy's password stays where it is configured: not in capture metadata, manifests,
artifacts, log records, the request queue in Redis, nor ``kuzet sources show``."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from dataclasses import replace
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import scrapy
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.distributed import QUEUE_KEY, SEEN_KEY, RunDupeFilter, Scheduler
from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from kuzet.cli import app
from kuzet.models import (
    AuditEvent,
    Capture,
    CaptureStatus,
    CrawlRun,
    CrawlStatus,
    FetchStatus,
    Page,
    Source,
)
from kuzet.redact import LogRedaction, RedactingFilter, browser_proxy, redact_text, redact_url
from tests.test_redis_hardening import QueueSpider

USER, PASSWORD = "officer7", "Pr0xy-s3cret-9f2c"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@proxy.kz:3128", "http://u:***@proxy.kz:3128"),
        ("socks5://u:p%40ss@10.0.0.1:1080", "socks5://u:***@10.0.0.1:1080"),
        ("socks5h://:only-pw@h:1", "socks5h://:***@h:1"),
        ("redis://kuzet:pw@r.kz:6379/0", "redis://kuzet:***@r.kz:6379/0"),
        ("rediss://r.kz:6380/0?password=pw&ssl_cert_reqs=required",
         "rediss://r.kz:6380/0?password=***&ssl_cert_reqs=required"),
        ("http://proxy.kz:3128", "http://proxy.kz:3128"),
        ("http://user@proxy.kz:3128", "http://user@proxy.kz:3128"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(None) is None


def test_redact_text_and_the_log_filter() -> None:
    text = "proxy http://u:pw1@a.kz:1 failed; retry via socks5://x:pw2@b.kz:2 later"
    assert (
        redact_text(text)
        == "proxy http://u:***@a.kz:1 failed; retry via socks5://x:***@b.kz:2 later"
    )
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "via %(p)s", ({"p": text},), None)
    assert RedactingFilter().filter(record)
    assert "pw1" not in record.getMessage() and "pw2" not in record.getMessage()


def test_the_crawl_process_log_handlers_mask_passwords() -> None:
    # The crawl's settings switch the extension on; it filters every root handler.
    from crawler import settings as crawl_settings

    assert "kuzet.redact.LogRedaction" in crawl_settings.EXTENSIONS
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        LogRedaction.from_crawler(get_crawler())
        logging.getLogger("scrapy.core.scraper").warning(
            "Error downloading via %s", f"http://{USER}:{PASSWORD}@10.0.0.1:3128"
        )
        try:
            raise ConnectionError(f"proxy socks5://{USER}:{PASSWORD}@10.0.0.2:1080 refused")
        except ConnectionError:
            logging.getLogger("kuzet").exception("Fetch failed")
    finally:
        root.removeHandler(handler)
    assert f"http://{USER}:***@10.0.0.1:3128" in out.getvalue()
    assert f"socks5://{USER}:***@10.0.0.2:1080 refused" in out.getvalue()  # the traceback
    _no_password(out.getvalue(), "crawl log")


def test_the_kuzet_process_log_masks_passwords(capsys) -> None:
    # Workers, the scheduler and the web UI log through setup_logging.
    from scheduler.ops import setup_logging

    setup_logging(json_logs=True)
    logging.getLogger("kuzet").warning("capture via %s", f"socks5://{USER}:{PASSWORD}@h:1080")
    err = capsys.readouterr().err
    assert f"socks5://{USER}:***@h:1080" in err
    _no_password(err, "worker log")


def test_the_request_queue_keeps_no_proxy_password(redis_server) -> None:
    server = redis.Redis.from_url(redis_server.new_url())
    spider = QueueSpider(server)
    scheduler = Scheduler(
        server,
        persist=True,
        queue_key=QUEUE_KEY,
        queue_cls="crawler.redis_queue.ReliableQueue",
        dupefilter=RunDupeFilter(server, SEEN_KEY),
    )
    scheduler.open(spider)
    # A retry of a request that went through the proxy: Scrapy's proxy middleware has
    # turned the URL's credentials into a Proxy-Authorization header.
    request = scrapy.Request(
        "http://a.kz/",
        callback=spider.dispatch,
        meta={"kuzet_run": 1, "proxy": f"http://{USER}:{PASSWORD}@127.0.0.1:3128"},
        dont_filter=True,
    )
    HttpProxyMiddleware.from_crawler(get_crawler()).process_request(request)
    assert request.headers.get("Proxy-Authorization") == f"Basic {BASIC}".encode()
    assert scheduler.enqueue_request(request)
    [raw] = server.zrange(QUEUE_KEY, 0, -1)
    assert PASSWORD.encode() not in raw and BASIC.encode() not in raw
    assert b"3128" not in raw  # the route sets the proxy again for the next fetch
    back = scheduler.next_request()
    assert "proxy" not in back.meta and b"Proxy-Authorization" not in back.headers


class AuthProxy:
    """An HTTP forward proxy on loopback (wanting ``USER:PASSWORD`` if ``require_auth``);
    every host it is asked for is the test's site (so the browser, which never proxies
    loopback URLs, is given a non-loopback name)."""

    def __init__(self, site: str, require_auth: bool) -> None:
        target = urlsplit(site)
        self.seen = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.seen += 1
                if require_auth and self.headers.get("Proxy-Authorization") != f"Basic {BASIC}":
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="kuzet-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = HTTPConnection(target.hostname, target.port, timeout=10)
                conn.request("GET", urlsplit(self.path).path or "/")
                reply = conn.getresponse()
                body = reply.read()
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{USER}:{PASSWORD}@127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> AuthProxy:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _no_password(blob: bytes | str, where: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    assert PASSWORD.encode() not in data, where
    assert BASIC.encode() not in data, where


PAGE = "http://news.example.kz/articles/casino.html"


@pytest.mark.parametrize("require_auth", [False, True], ids=["open-proxy", "proxy-wants-login"])
def test_a_capture_through_a_proxy_with_a_password_records_it_nowhere(
    settings, db, sample_site, chromium, caplog, require_auth
) -> None:
    with AuthProxy(sample_site.urls["site"], require_auth) as proxy:
        settings = replace(settings, proxy=proxy.url)
        with db.session() as s:
            s.add(Capture(url=PAGE))
        with caplog.at_level(logging.DEBUG):
            run_captures(settings, db)
    assert proxy.seen >= 1  # the browser went through it
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        cap = s.scalars(select(Capture)).one()
        _no_password(json.dumps(cap.meta or {}, default=str), "capture metadata")
        _no_password(cap.error or "", "capture error")
        for artifact in cap.artifacts:
            _no_password(store.open_bytes(artifact.sha256), artifact.kind)
        for event in s.scalars(select(AuditEvent)):
            _no_password(json.dumps(event.details or {}, default=str), "custody log")
        status, meta = cap.status, cap.meta or {}
        kinds = {a.kind for a in cap.artifacts}
    _no_password(caplog.text, "log records")
    # Loaded (the browser answered the proxy's 407 with the source's credentials): the
    # metadata and the manifest name the proxy, without its password.
    assert status == CaptureStatus.SUCCEEDED, cap.error
    assert meta["proxy"] == proxy.url.replace(PASSWORD, "***")
    assert "manifest" in kinds


def test_browser_proxy_gives_chromium_the_credentials(sample_site, chromium) -> None:
    from playwright.sync_api import sync_playwright

    with AuthProxy(sample_site.urls["site"], True) as proxy:
        option = browser_proxy(proxy.url)
        assert option == {"server": proxy.url.replace(f"{USER}:{PASSWORD}@", ""),
                          "username": USER, "password": PASSWORD}  # fmt: skip
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium)
            try:
                page = browser.new_context(proxy=option).new_page()  # type: ignore[arg-type]
                assert page.goto(PAGE).status == 200
                assert "КАЗИНО" in page.content().upper()
            finally:
                browser.close()


def test_sources_show_masks_the_proxy_password(settings, db) -> None:
    with db.session() as s:
        s.add(
            Source(
                name="via-proxy",
                start_url="https://a.kz/",
                proxy=f"socks5://{USER}:{PASSWORD}@10.1.1.1:1080",
            )
        )
    env = settings.to_env()
    out = CliRunner().invoke(app, ["sources", "show", "via-proxy"], env=env)
    assert out.exit_code == 0, out.output
    assert f"socks5://{USER}:***@10.1.1.1:1080" in out.output
    _no_password(out.output, "sources show")
    out = CliRunner().invoke(app, ["sources", "list"], env=env)
    assert out.exit_code == 0 and "via-proxy" in out.output
    _no_password(out.output, "sources list")


def _rows_outside_sources(db: Any) -> str:
    """Every row of every table but ``sources`` (where the proxy is configured), as text."""
    from kuzet.models.base import Base

    out = []
    with db.session() as s:
        for table in Base.metadata.sorted_tables:
            if table.name != "sources":
                out += [repr(tuple(row)) for row in s.execute(table.select())]
    return "\n".join(out)


def test_a_crawl_through_a_proxy_with_a_password_stores_and_logs_it_nowhere(
    settings, db, sample_site
) -> None:
    from crawler.runner import run_crawl

    with AuthProxy(sample_site.urls["site"], require_auth=True) as proxy:
        with db.session() as s:
            s.add(Source(name="via-proxy", start_url="http://news.example.kz/", max_depth=1,
                         proxy=proxy.url))  # fmt: skip
        result = run_crawl(settings, db)
    assert result.returncode == 0
    with db.session() as s:
        pages = s.scalars(select(Page)).all()
        run = s.scalars(select(CrawlRun)).one()
        assert run.status == CrawlStatus.SUCCEEDED
        # Fetched through the proxy, with its credentials: the proxy let them in.
        ok = {p.url for p in pages if p.fetch_status == FetchStatus.OK}
        assert "http://news.example.kz/articles/casino.html" in ok, [p.error for p in pages]
    _no_password(_rows_outside_sources(db), "database rows")
    for log in (settings.home / "logs").glob("*.log"):
        _no_password(log.read_text(), log.name)


def test_sources_add_keeps_the_proxy_password_out_of_the_custody_log(settings, db) -> None:
    proxy = f"http://{USER}:{PASSWORD}@10.1.1.1:3128"
    out = CliRunner().invoke(
        app,
        ["sources", "add", "via-proxy", "https://a.kz/", "--proxy", proxy],
        env=settings.to_env(),
    )
    assert out.exit_code == 0, out.output
    with db.session() as s:
        assert s.scalars(select(Source)).one().proxy == proxy  # configured as given
    _no_password(_rows_outside_sources(db), "database rows")
    _no_password(out.output, "sources add")
