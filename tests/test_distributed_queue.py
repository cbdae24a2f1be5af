"""The Redis side of distributed crawling, step by step, on a real Redis server: leases,
the duplicate check with the push, putting back what a dead worker held, and the run's
page limit and each host's pace, shared by all workers."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
import redis
import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.distributed import (
    QUEUE_KEY,
    SEEN_KEY,
    START_KEY,
    RedisBudget,
    RunDupeFilter,
    Scheduler,
    Worker,
    inflight_key,
)
from crawler.middlewares.host_pace import HostPaceMiddleware
from crawler.middlewares.leases import PARENT_LEASE, LeaseMiddleware
from tests.crawl_helpers import make_spider, seed_run
from tests.test_spider_site import BASE, response, split


class FakeSpider(scrapy.Spider):
    """What the queue and the scheduler need of the crawl worker's spider."""

    name = "kuzet"

    def __init__(self, server: Any) -> None:
        super().__init__()
        self.worker = Worker(server, ttl_s=30)

    def parse(self, response: Any) -> Any:
        return None


@pytest.fixture
def server(redis_server) -> Any:
    return redis.Redis.from_url(redis_server.new_url())


def open_worker(server: Any) -> tuple[Scheduler, FakeSpider]:
    spider = FakeSpider(server)
    scheduler = Scheduler(
        server,
        persist=True,
        queue_key=QUEUE_KEY,
        queue_cls="crawler.distributed.ReliableQueue",
        dupefilter=RunDupeFilter(server, SEEN_KEY),
    )
    scheduler.open(spider)
    return scheduler, spider


def request(spider: FakeSpider, url: str, **kw: Any) -> scrapy.Request:
    meta = {"kuzet_run": 1, **kw.pop("meta", {})}
    return scrapy.Request(url, callback=spider.parse, meta=meta, **kw)


def test_a_url_is_queued_once_per_run_and_again_in_the_next(server) -> None:
    scheduler, spider = open_worker(server)
    assert scheduler.enqueue_request(request(spider, "http://a.kz/1"))
    assert not scheduler.enqueue_request(request(spider, "http://a.kz/1"))
    assert scheduler.enqueue_request(request(spider, "http://a.kz/1", meta={"kuzet_run": 2}))
    assert scheduler.enqueue_request(request(spider, "http://a.kz/1", dont_filter=True))
    assert server.zcard(QUEUE_KEY) == 3
    assert server.ttl(f"{SEEN_KEY}:1") > 0  # a run's filter expires


def test_a_popped_request_is_in_flight_until_let_go(server) -> None:
    scheduler, spider = open_worker(server)
    scheduler.enqueue_request(request(spider, "http://a.kz/1"))
    popped = scheduler.next_request()
    lease = popped.meta["kuzet_lease"]
    assert server.hkeys(spider.worker.inflight) == [lease.encode()]
    assert server.zcard(QUEUE_KEY) == 0
    spider.worker.hold(lease)
    spider.worker.let_go([lease])
    assert server.hlen(spider.worker.inflight) == 0


def test_a_link_holds_its_page_until_it_is_queued(server) -> None:
    # Scrapy queues a callback's requests after the callback has returned: a worker dying
    # in between must leave the page in flight, to be fetched again, or the link is lost.
    scheduler, spider = open_worker(server)
    crawler = get_crawler(settings_dict={"KUZET_DISTRIBUTED": True})
    crawler.spider = spider
    middleware = LeaseMiddleware.from_crawler(crawler)
    scheduler.enqueue_request(request(spider, "http://a.kz/"))
    page = scheduler.next_request()
    lease = page.meta["kuzet_lease"]
    response = HtmlResponse(page.url, body=b"<html></html>", request=page)

    spider.worker.hold(lease)  # the callback runs
    out = list(
        middleware.process_spider_output(
            response, [request(spider, "http://a.kz/1"), {"an": "item"}]
        )
    )
    spider.worker.let_go([lease])  # the callback is over; its link is not queued yet
    assert server.hexists(spider.worker.inflight, lease)
    assert out[0].meta[PARENT_LEASE] == lease and out[1] == {"an": "item"}

    assert scheduler.enqueue_request(out[0])
    assert not server.hexists(spider.worker.inflight, lease)
    # The lease is the worker's own business: it does not travel with the link.
    assert PARENT_LEASE not in scheduler.next_request().meta


def test_a_duplicate_link_lets_go_of_its_page_too(server) -> None:
    scheduler, spider = open_worker(server)
    scheduler.enqueue_request(request(spider, "http://a.kz/1"))
    scheduler.enqueue_request(request(spider, "http://a.kz/"))
    page = scheduler.next_request()
    lease = page.meta["kuzet_lease"]
    spider.worker.hold(lease)
    assert not scheduler.enqueue_request(
        request(spider, "http://a.kz/1", meta={PARENT_LEASE: lease})
    )
    assert not server.hexists(spider.worker.inflight, lease)


def test_a_retry_or_redirect_takes_the_place_of_the_popped_request(server) -> None:
    scheduler, spider = open_worker(server)
    scheduler.enqueue_request(request(spider, "http://a.kz/old"))
    scheduler.enqueue_request(request(spider, "http://a.kz/new"))
    first = scheduler.next_request()
    second = scheduler.next_request()
    assert server.hlen(spider.worker.inflight) == 2
    # A retry: the same request again, not filtered; the popped one is done.
    assert scheduler.enqueue_request(first.replace(dont_filter=True))
    # A redirect to a URL seen in this run is followed all the same: the redirecting URL
    # is done only when a page is stored under it.
    moved = second.replace(url="http://a.kz/old")
    moved.meta["redirect_urls"] = [second.url]
    assert scheduler.enqueue_request(moved)
    assert server.hlen(spider.worker.inflight) == 0
    assert server.zcard(QUEUE_KEY) == 2
    # A redirect's target is marked seen all the same: a link to it later is not followed.
    third = scheduler.next_request()
    elsewhere = third.replace(url="http://a.kz/elsewhere")
    elsewhere.meta["redirect_urls"] = [third.url]
    assert scheduler.enqueue_request(elsewhere)
    assert not scheduler.enqueue_request(request(spider, "http://a.kz/elsewhere"))


def test_a_dead_workers_requests_and_start_messages_go_back_once(server) -> None:
    dead_scheduler, dead = open_worker(server)
    for i, priority in ((1, 0), (2, 5)):
        dead_scheduler.enqueue_request(request(dead, f"http://a.kz/{i}", priority=priority))
    assert dead_scheduler.next_request().url == "http://a.kz/2"  # higher priority first
    assert dead_scheduler.next_request().url == "http://a.kz/1"
    server.rpush(dead.worker.starting, b'{"run": 1, "source": 1, "url": "http://b.kz/"}')
    dead.worker.beat()
    server.delete(f"kuzet:worker:{dead.worker.id}")  # its heartbeat ran out

    scheduler, spider = open_worker(server)
    spider.worker.beat()
    assert spider.worker.dead_workers() == [dead.worker.id]
    assert spider.worker.take_over(dead.worker.id) == (2, 1)
    assert spider.worker.take_over(dead.worker.id) == (0, 0)  # only once
    assert spider.worker.dead_workers() == []
    assert not server.exists(inflight_key(dead.worker.id), dead.worker.starting)
    assert server.lrange(START_KEY, 0, -1) == [b'{"run": 1, "source": 1, "url": "http://b.kz/"}']
    # Back as they were, priorities kept; not filtered again.
    assert [scheduler.next_request().url for _ in range(2)] == [
        "http://a.kz/2",
        "http://a.kz/1",
    ]
    assert scheduler.next_request() is None


def test_leases_are_for_distributed_workers_only() -> None:
    with pytest.raises(NotConfigured):
        LeaseMiddleware.from_crawler(get_crawler())


def test_a_runs_page_limit_is_shared_by_all_workers(server) -> None:
    one, two = RedisBudget(server, 1), RedisBudget(server, 1)
    assert one.admit(["/1", "/2"], 3) == [True, True]
    assert two.admit(["/2", "/3", "/4"], 3) == [True, True, False]  # /2 costs nothing again
    assert one.admit(["/4", "/1"], 3) == [False, True]
    assert RedisBudget(server, 2).admit(["/4"], 3) == [True]  # another run, another count
    assert one.admit([], 3) == []


def test_two_workers_site_spiders_stay_within_the_page_limit(settings, db, server) -> None:
    # Each worker's site spider sees only the pages it fetched; the limit is the run's.
    def page(first: int) -> bytes:
        links = "".join(f'<a href="/{i}.html">{i}</a>' for i in range(first, first + 10))
        return f"<html><body>{links}</body></html>".encode()

    with db.session() as s:
        sid, rid = seed_run(s, BASE, max_depth=5, max_pages=4)
    one, two = (make_spider(settings, sid, rid, budget=RedisBudget(server, rid)) for _ in "ab")
    one.budget.admit([BASE], 4)  # the seed, as the first worker took it
    [item] = split(one.parse(response(BASE, page(0))))[0]
    assert item.links == [(f"{BASE}{i}.html", 1) for i in range(3)]
    [item] = split(two.parse(response(BASE + "x.html", page(1))))[0]
    assert item.links == [(f"{BASE}{i}.html", 1) for i in (1, 2)]  # admitted already: free
    assert two.crawler.stats.get_value("kuzet/pages/over_limit") == 8


def test_workers_share_one_pace_per_host(redis_server) -> None:
    url = redis_server.new_url()
    settings = {"KUZET_DISTRIBUTED": True, "REDIS_URL": url, "AUTOTHROTTLE_ENABLED": False}
    one, two = (
        HostPaceMiddleware.from_crawler(
            get_crawler(settings_dict={**settings, "DOWNLOAD_DELAY": 5})
        )
        for _ in "ab"
    )
    assert one.delay_s(scrapy.Request("http://a.kz/")) == 5.0  # no slot yet: the setting
    # Bookings at one host, alternating between two workers, are a delay apart; another
    # host is not held up. (5 s apart: the test's own pace cannot blur them.)
    waits = [w.book("a.kz", 5.0) for w in (one, two, one, two)]
    assert waits[0] == 0
    for before, after in pairwise(waits):
        # Waits are rounded to milliseconds: their difference may be 5.000000000000001.
        assert 4.5 < round(after - before, 6) <= 5.0
    assert two.book("b.kz", 5.0) == 0
    with pytest.raises(NotConfigured):
        HostPaceMiddleware.from_crawler(get_crawler(settings_dict={"REDIS_URL": url}))
