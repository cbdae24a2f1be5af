from __future__ import annotations

import ipaddress

from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import PageItem
from crawler.middlewares.ssrf import BlockedRequest
from tests.crawl_helpers import make_spider, seed_run

BASE = "http://127.0.0.1:8001/"
HTML = b"""<html><head><title>Main</title></head><body>
<a href="/a.html">a</a><a href="/a.html#frag">a again</a>
<a href="http://127.0.0.1:8002/x">other port</a><a href="https://example.org/">other host</a>
<a href="/doc.pdf">pdf</a><a href="mailto:x@y.kz">mail</a><a href="/private/x.html">private</a>
</body></html>"""


def spider(settings, db, **source):
    with db.session() as s:
        sid, rid = seed_run(s, BASE, **source)
    return make_spider(settings, sid, rid)


def response(url, body, depth=0, cls=HtmlResponse, headers=None, status=200):
    req = Request(url, meta={"depth": depth})
    return cls(
        url=url,
        body=body,
        encoding="utf-8",
        request=req,
        status=status,
        headers=headers or {"Content-Type": "text/html; charset=utf-8", "ETag": '"e1"'},
        ip_address=ipaddress.ip_address("127.0.0.1"),
        protocol="HTTP/1.1",
    )


def split(out):
    out = list(out)
    return [o for o in out if isinstance(o, PageItem)], [o for o in out if isinstance(o, Request)]


def test_parse_yields_page_with_links_and_same_site_requests(settings, db) -> None:
    sp = spider(settings, db, max_depth=2, deny=["/private/"])
    items, reqs = split(sp.parse(response(BASE, HTML)))
    (item,) = items
    assert item.server_ip == "127.0.0.1" and item.protocol == "HTTP/1.1" and item.http_status == 200
    assert item.charset == "utf-8" and item.etag == '"e1"' and item.body == HTML
    assert [r.url for r in reqs] == [BASE + "a.html"]  # fragment, pdf, other sites, denied: dropped
    assert item.links == [(BASE + "a.html", 1)] and reqs[0].meta["depth"] == 1


def test_allow_patterns_depth_and_page_limits(settings, db) -> None:
    sp = spider(settings, db, max_depth=5, allow=[r"/b\.html$"])
    assert split(sp.parse(response(BASE, HTML)))[1] == []
    sp = spider(settings, db, max_depth=1)
    assert split(sp.parse(response(BASE + "a.html", HTML, depth=1)))[1] == []
    sp = spider(settings, db, max_depth=5, max_pages=1)
    sp._scheduled.add(BASE)
    assert split(sp.parse(response(BASE, HTML)))[1] == []


def test_robots_opt_out_and_proxy_reach_every_request(settings, db) -> None:
    from crawler.middlewares.route import SourceRouteMiddleware

    sp = spider(settings, db, obey_robots=False, proxy="http://127.0.0.1:3128")
    sp.crawler.spider = sp
    route = SourceRouteMiddleware.from_crawler(sp.crawler)
    req = sp.request(BASE + "x", 1)
    assert req.meta["dont_obey_robotstxt"] is True
    robots = Request(BASE + "robots.txt", meta={"dont_obey_robotstxt": True})  # built by Scrapy
    for r in (req, robots):
        route.process_request(r)
        assert r.meta["proxy"] == "http://127.0.0.1:3128"
    assert "dont_obey_robotstxt" not in spider(settings, db).request(BASE, 0).meta
    socks = spider(settings, db, proxy="socks5://127.0.0.1:1080")
    socks.crawler.spider = socks
    r = Request(BASE + "robots.txt")
    SourceRouteMiddleware.from_crawler(socks.crawler).process_request(r)
    assert r.meta["playwright"] is True and "proxy" not in r.meta  # the browser carries SOCKS


def test_non_html_is_not_stored(settings, db) -> None:
    sp = spider(settings, db)
    (item,) = split(
        sp.parse(
            response(
                BASE + "data.json",
                b"{}",
                cls=TextResponse,
                headers={"Content-Type": "application/json"},
            )
        )
    )[0]
    assert item.store_page is False


def test_failures_become_failed_fetch_items(settings, db) -> None:
    sp = spider(settings, db)
    resp = response(BASE + "gone", b"not found", status=404)
    failure = Failure(HttpError(resp))
    failure.request = resp.request
    (item,) = list(sp.on_error(failure))
    assert item.fetch_status == "failed" and item.http_status == 404 and item.error == "HTTP 404"
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = Request(BASE)
    (item,) = list(sp.on_error(failure))
    assert item.fetch_status == "failed" and "ConnectionRefusedError" in item.error
    failure = Failure(BlockedRequest("blocked: 10.0.0.1 is a non-public address (10.0.0.1)"))
    failure.request = Request("http://10.0.0.1/")
    (item,) = list(sp.on_error(failure))
    assert item.fetch_status == "failed" and item.error.startswith("blocked:")
    failure = Failure(IgnoreRequest("max redirections reached"))
    failure.request = Request(BASE + "loop")
    (item,) = list(sp.on_error(failure))
    assert item.fetch_status == "failed" and item.error == "max redirections reached"
    failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
    failure.request = Request(BASE + "admin/")
    (item,) = list(sp.on_error(failure))
    assert item.store_page is False and item.fetch_status == "ok"


def test_a_callback_exception_is_recorded_as_a_failed_fetch(settings, db) -> None:
    from crawler.middlewares.spider_errors import SpiderErrorsMiddleware

    sp = spider(settings, db)
    mw = SpiderErrorsMiddleware.from_crawler(sp.crawler)
    (item,) = mw.process_spider_exception(
        response(BASE + "odd", b"<html>"), ValueError("bad markup")
    )
    assert item.fetch_status == "failed" and item.url == BASE + "odd"
    assert item.error == "parse error: ValueError: bad markup" and item.http_status == 200
    assert sp.crawler.stats.get_value("kuzet/pages/parse_error") == 1
