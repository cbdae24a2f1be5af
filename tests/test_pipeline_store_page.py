from __future__ import annotations

from sqlalchemy import select

from crawler.pipelines.store_page import StorePagePipeline
from kuzet.models import FetchStatus, Page
from tests.crawl_helpers import make_crawler, page_item, seed_run


def test_stores_pages_and_dedupes_by_url_and_content(settings, db) -> None:
    crawler = make_crawler(settings)
    pipe = StorePagePipeline.from_crawler(crawler)
    with db.session() as s:
        sid, rid = seed_run(s)
    url = "http://127.0.0.1:1/a.html"
    first = pipe.process_item(page_item(sid, rid, url, "<title>A</title><p>один</p>"))
    again = pipe.process_item(page_item(sid, rid, url, "<title>A</title><p>один</p>"))
    changed = pipe.process_item(page_item(sid, rid, url, "<title>A</title><p>два</p>"))
    assert first.is_new and not again.is_new and changed.is_new
    assert again.page_id == first.page_id != changed.page_id
    with db.session() as s:
        pages = s.scalars(select(Page).where(Page.url == url).order_by(Page.id)).all()
        assert len(pages) == 2
        p = pages[0]
        assert p.server_ip == "127.0.0.1" and p.protocol == "HTTP/1.1" and p.http_status == 200
        assert len(p.content_sha256) == 64 and p.title == "A" and p.text == "один"
        assert p.fetched_at.tzinfo is not None
    stats = crawler.stats.get_stats()
    assert stats["kuzet/pages/stored"] == 2 and stats["kuzet/pages/unchanged"] == 1


def test_failed_fetch_is_recorded_not_evaluated(settings, db) -> None:
    crawler = make_crawler(settings)
    pipe = StorePagePipeline.from_crawler(crawler)
    with db.session() as s:
        sid, rid = seed_run(s)
    item = page_item(
        sid,
        rid,
        "http://127.0.0.1:1/gone",
        "",
        fetch_status="failed",
        body=None,
        http_status=404,
        error="HTTP 404",
    )
    out = pipe.process_item(item)
    assert out.page_id is not None and out.is_new is False
    with db.session() as s:
        page = s.get(Page, out.page_id)
        assert page.fetch_status == FetchStatus.FAILED and page.error == "HTTP 404"
        assert page.content_sha256 is None
