"""Distributed crawling on a hostile Redis: a pickle planted in the request queue runs
nothing in a crawl worker (the queue is JSON), entries that are not kuzet's requests are
dropped and counted, the crawl goes on; the shipped Redis configuration keeps anonymous
clients out; kuzet refuses a Redis that anyone on the network may write to."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
import scrapy
from scrapy.http import FormRequest
from scrapy.utils.request import request_from_dict
from sqlalchemy import select

from crawler import serializers
from crawler.distributed import (
    QUEUE_KEY,
    SEEN_KEY,
    START_KEY,
    RunDupeFilter,
    Scheduler,
    Worker,
    start_runs,
)
from crawler.redis_guard import (
    RedisExposedError,
    Verdict,
    answers_without_auth,
    check_redis,
    decide,
    is_local,
)
from crawler.redis_queue import REJECTED_KEY, ReliableQueue
from crawler.serializers import QueuedRequestError
from kuzet.models import CrawlRun, CrawlStatus, Page, Source
from tests.redisserver import RedisServer
from tests.webserver import WebServer, tree_site
from tests.workers import spawn_worker, stop_workers, wait_for


class Planted:
    """What an attacker with write access to Redis puts in the queue: unpickling it runs
    a command (here: one that creates a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def hostile_entries(marker: Path) -> list[bytes]:
    import pickle

    forged = {"url": "http://127.0.0.1:9/x", "meta": {"kuzet_run": 1}}
    return [
        pickle.dumps(Planted(marker), protocol=-1),
        b"\x00\xffnot json at all",
        json.dumps({**forged, "_class": "os.system"}).encode(),  # imports what it names
        json.dumps({**forged, "callback": "tick"}).encode(),  # not a queued callback
        json.dumps({**forged, "meta": {"kuzet_run": 1, "kuzet_cb": "__init__"}}).encode(),
    ]


class QueueSpider(scrapy.Spider):
    """What the queue needs of the crawl worker's spider."""

    name = "kuzet"

    def __init__(self, server: Any) -> None:
        super().__init__()
        self.worker = Worker(server, ttl_s=30)

    def dispatch(self, response: Any) -> Any:
        return None

    def dispatch_error(self, failure: Any) -> Any:
        return None


@pytest.fixture(scope="module")
def protected_redis() -> Any:
    """Redis with the shipped configuration (deploy/redis/kuzet.conf)."""
    server = RedisServer(password=secrets.token_hex(16)).start()
    yield server
    server.stop()


def real_requests(spider: QueueSpider) -> list[scrapy.Request]:
    meta = {
        "kuzet_run": 7,
        "kuzet_cb": "parse",
        "kuzet_eb": "on_error",
        "depth": 2,
        "handle_httpstatus_list": [304],
        "redirect_urls": ["http://a.kz/old"],
        "kuzet_published_at": "2026-12-01",
        # Shapes JSON has no word for, and keys that look like the encoding's own tags.
        "odd": {"$b": "not bytes", 3: "an int key", "pair": (1, b"\x00\xff"), "$d": []},
    }
    return [
        scrapy.Request(
            "http://a.kz/страница?q=1",
            callback=spider.dispatch,
            errback=spider.dispatch_error,
            headers={"If-None-Match": '"e1"', "X-Raw": b"\xff\xfe\x00"},
            meta=meta,
            priority=5,
            dont_filter=True,
            cb_kwargs={"n": 1},
            flags=["seed"],
        ),
        scrapy.Request(
            "http://a.kz/post",
            method="POST",
            body=bytes(range(256)),
            callback=spider.dispatch,
            meta={"kuzet_run": 7},
        ),
        FormRequest("http://a.kz/form", formdata={"q": "казино"}, callback=spider.dispatch),
    ]


def test_real_requests_travel_as_json_and_come_back_the_same(redis_server) -> None:
    server = redis.Redis.from_url(redis_server.new_url())
    spider = QueueSpider(server)
    queue = ReliableQueue(server, spider, QUEUE_KEY)
    sent = real_requests(spider)
    for request in sent:
        queue.push(request)
    for raw in server.zrange(QUEUE_KEY, 0, -1):
        json.loads(raw)  # plain JSON, no pickle
    got = {r.url: r for r in iter(queue.pop, None)}
    assert len(got) == len(sent)
    for request in sent:
        back = got[request.url]
        assert type(back) is type(request)
        assert back.callback == spider.dispatch
        back.meta.pop("kuzet_lease")
        assert back.to_dict(spider=spider) == request.to_dict(spider=spider)
    assert got["http://a.kz/post"].body == bytes(range(256))
    assert got[sent[0].url].headers.getlist("X-Raw") == [b"\xff\xfe\x00"]
    assert got[sent[0].url].meta["odd"]["pair"] == (1, b"\x00\xff")


def test_meta_that_is_not_data_stays_behind(redis_server, caplog) -> None:
    server = redis.Redis.from_url(redis_server.new_url())
    spider = QueueSpider(server)
    queue = ReliableQueue(server, spider, QUEUE_KEY)
    meta = {"kuzet_run": 1, "page": object(), "depth": 1}
    with caplog.at_level(logging.WARNING):
        queue.push(scrapy.Request("http://a.kz/", callback=spider.dispatch, meta=meta))
    assert "queued without meta ['page']" in caplog.text
    back = queue.pop()
    assert back.meta["depth"] == 1 and "page" not in back.meta


def test_the_encoding_refuses_what_json_cannot_carry_and_what_is_not_a_request() -> None:
    with pytest.raises(TypeError, match=r"request\.meta\.obj = object"):
        serializers.dumps({"url": "http://a.kz/", "meta": {"obj": object()}})
    for bad in (
        b"[1, 2]",
        b'{"url": "http://a.kz/", "eval": "x"}',
        b'{"url": "http://a.kz/", "meta": {"v": {"$b": "***"}}}',
        b'{"url": "http://a.kz/", "meta": {"v": {"$pickle": "x"}}}',
        b'{"url": "http://a.kz/", "meta": {"v": {"$d": [[[1], 2]]}}}',
        b'{"meta": {}}',
        b"[" * 100_000 + b"]" * 100_000,
        b" " * (serializers.MAX_ENCODED_BYTES + 1),
    ):
        with pytest.raises(QueuedRequestError):
            serializers.loads(bad)


def test_hostile_queue_entries_run_nothing_and_are_dropped_and_counted(
    redis_server, tmp_path
) -> None:
    server = redis.Redis.from_url(redis_server.new_url())
    spider = QueueSpider(server)
    queue = ReliableQueue(server, spider, QUEUE_KEY)
    marker = tmp_path / "planted-code-ran"
    for i, entry in enumerate(hostile_entries(marker)):
        server.zadd(QUEUE_KEY, {entry: -100 + i})  # popped before the real one
    queue.push(scrapy.Request("http://a.kz/", callback=spider.dispatch, meta={"kuzet_run": 1}))

    request = queue.pop()
    assert request.url == "http://a.kz/"
    assert not marker.exists()
    assert server.zcard(QUEUE_KEY) == 0
    assert server.llen(REJECTED_KEY) == 5  # kept for whoever investigates
    assert server.hkeys(spider.worker.inflight) == [request.meta["kuzet_lease"].encode()]
    assert queue.pop() is None


def test_scrapy_redis_pickle_would_have_run_the_planted_code(tmp_path) -> None:
    # The attack itself, against the serializer scrapy-redis uses by default.
    from scrapy_redis import picklecompat

    marker = tmp_path / "planted-code-ran"
    with pytest.raises((TypeError, AttributeError)):
        request_from_dict(picklecompat.loads(hostile_entries(marker)[0]))
    assert marker.exists()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_running_crawl_worker_survives_a_planted_pickle(
    settings, db, tmp_path, protected_redis
) -> None:
    # The worker talks to a Redis with the shipped configuration, with the credentials
    # in KUZET_REDIS_URL; the attacker has them too (a leaked password, an insider).
    url = protected_redis.new_url()
    settings = replace(settings, redis_url=url, crawl_worker_ttl_s=3)
    server = redis.Redis.from_url(url)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=protected_redis.port).ping()  # anonymous: not let in
    marker = tmp_path / "planted-code-ran"
    for i, entry in enumerate(hostile_entries(marker)):
        server.zadd(QUEUE_KEY, {entry: -100 + i})
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with WebServer(tree_site(6, lambda i: f"<p>Жаңалық {i}</p>")) as web:
            with db.session() as s:
                src = Source(name="site", start_url=web.url + "/", allow_private=True)
                s.add(src)
                s.flush()
                source_id = src.id
            worker = spawn_worker(settings, "crawl", log=tmp_path / "crawl.out")
            procs.append(worker)
            wait_for(
                "the worker to pop the planted entries", lambda: not server.zcard(QUEUE_KEY), 60
            )
            assert not marker.exists()  # the planted code did not run
            assert server.llen(REJECTED_KEY) == 5
            [run_id] = start_runs(db, url, [source_id])
            # Start messages are Redis data too: one naming a URL its run never held, and
            # one nested too deep to decode.
            forged = {"run": run_id, "source": source_id, "url": web.url + "/forged"}
            server.rpush(START_KEY, json.dumps(forged), b"[" * 100_000)
            wait_for("the run to finish", lambda: _over(db, run_id), 180)
            wait_for("the start messages to be read", lambda: not server.llen(START_KEY), 60)
            assert worker.poll() is None  # still crawling
    finally:
        stop_workers(procs, grace_s=60)
    assert not marker.exists()
    with db.session() as s:
        assert s.get(CrawlRun, run_id).status == CrawlStatus.SUCCEEDED
        urls = s.scalars(select(Page.url).where(Page.crawl_run_id == run_id)).all()
    assert len(urls) == 6
    assert web.hits["/forged"] == 0
    log = "".join(p.read_text() for p in (settings.home / "logs").glob("crawl-worker-*.log"))
    assert "'kuzet/distributed/rejected': 7" in log
    assert log.count("Start message refused") == 2
    assert "Queue entry refused" in log
    assert protected_redis.password not in log + (tmp_path / "crawl.out").read_text()


def _over(db: Any, run_id: int) -> bool:
    with db.session() as s:
        return s.get(CrawlRun, run_id).status in CrawlStatus.FINAL


def test_the_queue_works_with_the_shipped_acl_and_keeps_kuzets_user_to_its_keys(
    protected_redis,
) -> None:
    server = redis.Redis.from_url(protected_redis.new_url())
    spider = QueueSpider(server)
    scheduler = Scheduler(
        server,
        persist=True,
        queue_key=QUEUE_KEY,
        queue_cls="crawler.redis_queue.ReliableQueue",
        dupefilter=RunDupeFilter(server, SEEN_KEY),
    )
    scheduler.open(spider)
    meta = {"kuzet_run": 1}
    assert scheduler.enqueue_request(scrapy.Request("http://a.kz/", spider.dispatch, meta=meta))
    assert scheduler.next_request().url == "http://a.kz/"
    with pytest.raises(redis.exceptions.NoPermissionError):
        server.set("elsewhere", "1")  # not a kuzet key
    with pytest.raises(redis.exceptions.NoPermissionError):
        server.config_get("dir")  # no administration
    with pytest.raises(redis.exceptions.NoPermissionError):
        server.flushall()


# ---------------------------------------------------------------- refusing an open Redis


def test_decision_refuses_only_an_open_redis_on_another_host() -> None:
    assert decide(local=False, answers_without_auth=True) is Verdict.EXPOSED
    assert decide(local=True, answers_without_auth=True) is Verdict.LOCAL_OPEN
    assert decide(local=False, answers_without_auth=False) is Verdict.PROTECTED
    assert decide(local=True, answers_without_auth=False) is Verdict.PROTECTED


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("redis://127.0.0.1:6379/0", True),
        ("redis://127.3.4.5/0", True),
        ("redis://[::1]:6379", True),
        ("redis://[::ffff:127.0.0.1]:6379", True),
        ("redis://localhost:6379", True),
        ("unix:///run/redis/redis.sock", True),
        ("redis://192.0.2.10:6379/0", False),
        ("redis://kuzet:pw@10.0.0.5:6379/0", False),
        ("redis://[::ffff:10.0.0.5]:6379", False),
        ("redis://[fd00::5]:6379", False),
        ("redis://0.0.0.0:6379", False),
    ],
)
def test_which_hosts_are_local(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_the_refusal_names_the_url_without_its_password() -> None:
    exc = RedisExposedError("redis://kuzet:hunter2-secret@10.0.0.5:6379/0")
    for lang in ("kk", "ru", "en"):
        text = exc.localized(lang)
        assert "redis://kuzet:***@10.0.0.5:6379/0" in text and "hunter2" not in text
    assert "hunter2" not in str(exc)


def test_an_open_loopback_redis_is_allowed_with_a_warning(redis_server, caplog) -> None:
    url = redis_server.new_url()
    assert answers_without_auth(url)
    with caplog.at_level(logging.WARNING, logger="crawler.redis_guard"):
        assert check_redis(url, "en") is Verdict.LOCAL_OPEN
    assert "has no password" in caplog.text


def test_a_password_protected_redis_is_seen_as_protected(protected_redis, caplog) -> None:
    url = protected_redis.new_url()
    assert not answers_without_auth(url)  # the credentials are left out of the probe
    with caplog.at_level(logging.WARNING):
        assert check_redis(url) is Verdict.PROTECTED
    assert caplog.text == ""
    # The scheduler's side and the worker's side start on it.
    assert redis.Redis.from_url(url).ping()
    wrong = url.replace(protected_redis.password, "wrong")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(wrong).ping()
