from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from sqlalchemy import select

from crawler import settings as crawl_settings
from crawler.runner import CrawlError, run_crawl
from kuzet.models import (
    Capture,
    CrawlRun,
    CrawlStatus,
    Detection,
    FetchStatus,
    FrontierEntry,
    Page,
    Source,
)
from rules.loader import RulePackError
from tests.webserver import WebServer


def add_source(db, name: str, url: str, **kw) -> None:
    with db.session() as s:
        s.add(Source(name=name, start_url=url, allow_private=True, **kw))


def test_monitoring_crawler_exposes_no_consoles() -> None:
    assert crawl_settings.TELNETCONSOLE_ENABLED is False
    assert crawl_settings.REMOTE_CONTROL_ENABLED is False
    assert crawl_settings.ROBOTSTXT_OBEY is True


def test_crawl_stores_pages_flags_violations_and_survives_bad_sources(
    settings, db, sample_site, closed_port
) -> None:
    add_source(db, "sample", sample_site.urls["site"], max_depth=2)
    add_source(db, "down", f"http://127.0.0.1:{closed_port}/")
    result = run_crawl(settings, db)
    assert result.returncode == 0
    with db.session() as s:
        runs = {r.source.name: r for r in s.scalars(select(CrawlRun))}
        assert runs["sample"].status == CrawlStatus.SUCCEEDED
        assert runs["down"].status == CrawlStatus.SUCCEEDED  # the crawl ran; its one fetch failed
        pages = {
            p.url.split("/", 3)[-1]: p
            for p in s.scalars(select(Page).where(Page.source_id == runs["sample"].source_id))
        }
        ok = {k for k, p in pages.items() if p.fetch_status == FetchStatus.OK}
        assert ok == {
            "",
            "articles/clean.html",
            "articles/casino.html",
            "deep/level1.html",
            "deep/level2.html",
        }
        assert pages["articles/missing.html"].fetch_status == FetchStatus.FAILED
        assert pages["articles/missing.html"].http_status == 404
        down = [p for p in s.scalars(select(Page).where(Page.source_id == runs["down"].source_id))]
        assert len(down) == 1 and down[0].fetch_status == FetchStatus.FAILED
        assert "Connection" in down[0].error or "refused" in down[0].error.lower()
        # depth 2 stops before level3; the PDF link and the foreign host are never fetched
        assert "deep/level3.html" not in pages and "files/report.pdf" not in pages
        assert all(
            p.server_ip == "127.0.0.1" and p.protocol == "HTTP/1.1"
            for p in pages.values()
            if p.http_status
        )
        flagged = {d.page.url.split("/", 3)[-1] for d in s.scalars(select(Detection))}
        assert flagged == {"articles/casino.html"}
        assert len(s.scalars(select(Capture)).all()) == 1


def test_recrawl_of_unchanged_site_adds_no_rows(settings, db, sample_site) -> None:
    add_source(db, "sample", sample_site.urls["site"], max_depth=2)
    run_crawl(settings, db)
    with db.session() as s:
        before = (
            len(s.scalars(select(Page.id).where(Page.fetch_status == FetchStatus.OK)).all()),
            len(s.scalars(select(Detection.id)).all()),
        )
    run_crawl(settings, db)
    with db.session() as s:
        after = (
            len(s.scalars(select(Page.id).where(Page.fetch_status == FetchStatus.OK)).all()),
            len(s.scalars(select(Detection.id)).all()),
        )
    assert before == after


def test_invalid_pack_means_nothing_is_crawled(settings, db, sample_site, tmp_path) -> None:
    bad = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, bad)
    (bad / "drugs.yaml").write_text(
        (bad / "drugs.yaml")
        .read_text(encoding="utf-8")
        .replace("severity: critical", "severity: extreme"),
        encoding="utf-8",
    )
    add_source(db, "sample", sample_site.urls["site"])
    with pytest.raises(
        RulePackError, match=r"drugs\.yaml:\d+: defaults|drugs\.yaml:\d+: rules\[0\]\.severity"
    ):
        run_crawl(replace(settings, rules_dir=bad), db)
    with db.session() as s:
        assert s.scalars(select(CrawlRun)).all() == []
        assert s.scalars(select(Page)).all() == []


def test_unknown_source_is_an_error(settings, db) -> None:
    with pytest.raises(CrawlError, match="unknown source"):
        run_crawl(settings, db, ["nope"])


def test_ssrf_guard_refuses_loopback_unless_the_source_allows_it(settings, db) -> None:
    from tests.webserver import WebServer, html

    with WebServer({"/": html("<p>внутренний сервис</p>")}) as web:
        with db.session() as s:
            s.add(Source(name="outside", start_url=web.url + "/", allow_private=False))
        run_crawl(settings, db, ["outside"])
        assert web.page_hits() == {}  # not one request reached the private address
        with db.session() as s:
            (page,) = s.scalars(select(Page)).all()
            assert page.fetch_status == FetchStatus.FAILED
            assert page.error.startswith("blocked: 127.0.0.1 is a non-public address")


def test_conditional_recrawl_gets_304s_and_still_walks_the_site(settings, db, sample_site) -> None:
    add_source(db, "sample", sample_site.urls["site"], max_depth=2)
    run_crawl(settings, db)
    second = run_crawl(settings, db)
    with db.session() as s:
        run = s.get(CrawlRun, second.run_ids[0])
        # the static server honours If-Modified-Since: every stored page answers 304,
        # and links are still followed from the stored copies
        assert run.stats["kuzet/pages/not_modified"] == 5
        done = s.scalars(
            select(FrontierEntry.url).where(FrontierEntry.crawl_run_id == run.id)
        ).all()
        assert len(done) == 6  # 5 pages + the missing one


def _redirects(path: str, _headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    html = {"Content-Type": "text/html; charset=utf-8"}
    if path == "/robots.txt":
        return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
    if path == "/":
        links = " ".join(f'<a href="{p}">{p}</a>' for p in ("/a", "/old", "/gone", "/loop1"))
        return 200, html, f"<html><body>{links}</body></html>".encode()
    moved = {"/old": "/a", "/gone": "/missing", "/loop1": "/loop2", "/loop2": "/loop1"}
    if path in moved:
        return 301, {"Location": moved[path]}, b""
    if path == "/a":
        return 200, html, "<html><body><p>Жаңалық: ауа райы</p></body></html>".encode()
    return 404, html, b"<html><body>not found</body></html>"


def test_every_redirecting_url_ends_done_or_failed(settings, db) -> None:
    # /old moves to /a, which the crawl has fetched already; /gone moves to a 404; /loop1
    # and /loop2 send each other round. Each frontier entry must end with a page stored
    # under it (none left pending), and /a is not stored twice under its own URL.
    with WebServer(_redirects) as web:
        add_source(db, "moves", web.url + "/", max_depth=3)
        assert run_crawl(settings, db).returncode == 0
    with db.session() as s:
        frontier = {
            f.url.removeprefix(web.url): f.status.value for f in s.scalars(select(FrontierEntry))
        }
        pages = {p.url.removeprefix(web.url): p for p in s.scalars(select(Page))}
    assert frontier == {
        "/": "done", "/a": "done", "/old": "done", "/gone": "failed", "/loop1": "failed"
    }  # fmt: skip
    assert set(pages) == {"/", "/a", "/old", "/gone", "/loop1"}
    assert pages["/old"].final_url == web.url + "/a"
    assert pages["/old"].fetch_status == FetchStatus.OK
    assert pages["/gone"].http_status == 404 and pages["/gone"].final_url == web.url + "/missing"
    assert "redirect" in (pages["/loop1"].error or "").lower()
