from __future__ import annotations

import zlib

import pytest
from sqlalchemy import select

from crawler.pipelines.store_page import StorePagePipeline
from kuzet.models import AnalysisStatus, FetchStatus, FrontierEntry, FrontierStatus, Page
from tests.crawl_helpers import make_crawler, page_item, seed_run

pytestmark = pytest.mark.both_databases

HTML = "<title>A</title><p>один</p>"


def test_stores_versions_bodies_and_dedupes_by_url_and_content(settings, db) -> None:
    crawler = make_crawler(settings)
    pipe = StorePagePipeline.from_crawler(crawler)
    with db.session() as s:
        sid, rid = seed_run(s)
    url = "http://127.0.0.1:1/a.html"
    first = pipe.process_item(page_item(sid, rid, url, HTML, etag='"v1"'))
    again = pipe.process_item(page_item(sid, rid, url, HTML))
    changed = pipe.process_item(page_item(sid, rid, url, "<title>A</title><p>два</p>"))
    assert first.page_id is None  # buffered: nothing written until the batch is flushed
    pipe.flush()
    assert first.is_new and not again.is_new and changed.is_new
    assert again.page_id == first.page_id != changed.page_id
    with db.session() as s:
        pages = s.scalars(select(Page).where(Page.url == url).order_by(Page.id)).all()
        assert len(pages) == 2
        p = pages[0]
        assert p.server_ip == "127.0.0.1" and p.protocol == "HTTP/1.1" and p.http_status == 200
        assert p.etag == '"v1"' and p.charset == "utf-8" and len(p.content_sha256) == 64
        assert p.analysis_status == AnalysisStatus.PENDING and p.fetched_at.tzinfo is not None
        assert p.body.raw() == HTML.encode() and p.body.data == zlib.compress(HTML.encode(), 1)
    # a later crawl of the same content adds nothing
    pipe.process_item(page_item(sid, rid, url, HTML))
    pipe.flush()
    with db.session() as s:
        assert len(s.scalars(select(Page).where(Page.url == url)).all()) == 2
    stats = crawler.stats.get_stats()
    assert stats["kuzet/pages/stored"] == 2 and stats["kuzet/pages/unchanged"] == 2


def test_batches_flush_by_size(settings, db) -> None:
    pipe = StorePagePipeline.from_crawler(make_crawler(settings, KUZET_STORE_BATCH_SIZE=3))
    with db.session() as s:
        sid, rid = seed_run(s)
    items = [
        pipe.process_item(page_item(sid, rid, f"http://127.0.0.1:1/{i}", f"<p>{i}</p>"))
        for i in range(4)
    ]
    assert [i.page_id is not None for i in items] == [True, True, True, False]


def test_frontier_gets_links_and_completion_in_the_same_batch(settings, db) -> None:
    pipe = StorePagePipeline.from_crawler(make_crawler(settings))
    with db.session() as s:
        sid, rid = seed_run(s)
        s.add(FrontierEntry(crawl_run_id=rid, url="http://127.0.0.1:1/", depth=0))
        s.add(FrontierEntry(crawl_run_id=rid, url="http://127.0.0.1:1/gone", depth=1))
    pipe.process_item(
        page_item(
            sid,
            rid,
            "http://127.0.0.1:1/",
            HTML,
            links=[("http://127.0.0.1:1/a", 1), ("http://127.0.0.1:1/gone", 1)],
        )
    )
    pipe.process_item(
        page_item(
            sid,
            rid,
            "http://127.0.0.1:1/gone",
            "",
            fetch_status="failed",
            body=None,
            http_status=404,
            error="HTTP 404",
        )
    )
    pipe.flush()
    with db.session() as s:
        status = {e.url: e.status for e in s.scalars(select(FrontierEntry))}
        assert status == {
            "http://127.0.0.1:1/": FrontierStatus.DONE,
            "http://127.0.0.1:1/a": FrontierStatus.PENDING,
            "http://127.0.0.1:1/gone": FrontierStatus.FAILED,
        }
        gone = s.scalars(select(Page).where(Page.url.endswith("/gone"))).one()
        assert gone.fetch_status == FetchStatus.FAILED and gone.error == "HTTP 404"
        assert gone.analysis_status == AnalysisStatus.SKIPPED and gone.body is None


def test_not_modified_items_store_no_page(settings, db) -> None:
    pipe = StorePagePipeline.from_crawler(make_crawler(settings))
    with db.session() as s:
        sid, rid = seed_run(s)
        s.add(FrontierEntry(crawl_run_id=rid, url="http://127.0.0.1:1/", depth=0))
    pipe.process_item(
        page_item(sid, rid, "http://127.0.0.1:1/", "", body=None, http_status=304, store_page=False)
    )
    pipe.flush()
    with db.session() as s:
        assert s.scalars(select(Page)).all() == []
        assert s.scalars(select(FrontierEntry)).one().status == FrontierStatus.DONE


def test_a_page_done_before_the_page_linking_to_it_stays_done(settings, db) -> None:
    # Crawl workers share one queue: a child can be stored before its parent (the parent's
    # worker died and the page was fetched again). The parent's link must not make the
    # child pending again, or the run would never end.
    pipe = StorePagePipeline.from_crawler(make_crawler(settings))
    with db.session() as s:
        sid, rid = seed_run(s)
        s.add(FrontierEntry(crawl_run_id=rid, url="http://127.0.0.1:1/", depth=0))
    pipe.process_item(page_item(sid, rid, "http://127.0.0.1:1/child", HTML))
    pipe.flush()
    parent = page_item(sid, rid, "http://127.0.0.1:1/", HTML)
    parent.links = [("http://127.0.0.1:1/child", 1), ("http://127.0.0.1:1/new", 1)]
    pipe.process_item(parent)
    pipe.flush()
    with db.session() as s:
        status = {e.url: e.status for e in s.scalars(select(FrontierEntry))}
    assert status == {
        "http://127.0.0.1:1/": FrontierStatus.DONE,
        "http://127.0.0.1:1/child": FrontierStatus.DONE,
        "http://127.0.0.1:1/new": FrontierStatus.PENDING,
    }
