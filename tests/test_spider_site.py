from __future__ import annotations

from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.items import PageItem
from crawler.spiders.site import SiteSpider

BASE = "http://127.0.0.1:8001/"
HTML = b"""<html><head><title>Main</title></head><body>
<a href="/a.html">a</a><a href="/a.html#frag">a again</a>
<a href="http://127.0.0.1:8002/x">other port</a><a href="https://example.org/">other host</a>
<a href="/doc.pdf">pdf</a><a href="mailto:x@y.kz">mail</a>
</body></html>"""


def spider(**kw) -> SiteSpider:
    crawler = get_crawler(SiteSpider)
    sp = crawler._create_spider(source_id=1, crawl_run_id=2, start_url=BASE, **kw)
    crawler.stats.open_spider()
    return sp


def response(url: str, body: bytes, depth: int = 0, cls=HtmlResponse, headers=None) -> TextResponse:
    req = Request(url, meta={"depth": depth})
    return cls(
        url=url,
        body=body,
        encoding="utf-8",
        request=req,
        headers=headers or {"Content-Type": "text/html; charset=utf-8"},
        ip_address=__import__("ipaddress").ip_address("127.0.0.1"),
        protocol="HTTP/1.1",
    )


def test_parse_yields_page_and_same_site_links_only() -> None:
    sp = spider(max_depth=2)
    out = list(sp.parse(response(BASE, HTML)))
    items = [o for o in out if isinstance(o, PageItem)]
    reqs = [o for o in out if isinstance(o, Request)]
    assert len(items) == 1
    item = items[0]
    assert item.title == "Main" and item.server_ip == "127.0.0.1" and item.protocol == "HTTP/1.1"
    assert item.source_id == 1 and item.crawl_run_id == 2 and item.http_status == 200
    assert [r.url for r in reqs] == [
        BASE + "a.html"
    ]  # fragment deduped, pdf and other sites dropped
    assert reqs[0].meta["depth"] == 1


def test_depth_and_page_limits() -> None:
    sp = spider(max_depth=1)
    assert not [
        o for o in sp.parse(response(BASE + "a.html", HTML, depth=1)) if isinstance(o, Request)
    ]
    sp = spider(max_depth=5, max_pages=1)
    sp._scheduled.add(BASE)
    assert not [o for o in sp.parse(response(BASE, HTML)) if isinstance(o, Request)]


def test_non_html_is_skipped() -> None:
    sp = spider()
    out = list(
        sp.parse(
            response(
                BASE + "data.json",
                b"{}",
                cls=TextResponse,
                headers={"Content-Type": "application/json"},
            )
        )
    )
    assert out == []


def test_http_error_becomes_a_failed_fetch_item() -> None:
    sp = spider()
    resp = response(BASE + "gone", b"not found")
    resp.status = 404
    failure = Failure(HttpError(resp))
    failure.request = resp.request
    (item,) = list(sp.on_error(failure))
    assert item.fetch_status == "failed" and item.http_status == 404 and item.error == "HTTP 404"


def test_connection_error_becomes_a_failed_fetch_item() -> None:
    sp = spider()
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = Request(BASE)
    (item,) = list(sp.on_error(failure))
    assert item.fetch_status == "failed" and "ConnectionRefusedError" in item.error
