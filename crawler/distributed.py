"""Distributed crawling on scrapy-redis: many crawl workers, on any hosts, share one request
queue and one duplicate filter in Redis.

The kuzet scheduler opens a run and pushes its start URL (:func:`start_runs`); any worker
(``kuzet worker crawl`` with ``KUZET_REDIS_URL``) takes it from there. On top of
scrapy-redis:

- **Nothing is lost when a worker dies.** A worker pops a request and files it under its
  own name in one step (a Lua script): ``kuzet:inflight:<worker>``. It lets go of it only
  when the page is stored and every link it found is queued. A worker that stops beating
  its heart (``kuzet:worker:<worker>`` expires) has its requests put back by another.
- **Nothing is fetched twice in a run.** The duplicate filter is kept per crawl run
  (``kuzet:seen:<run>``, expiring; checked and pushed to in one step), and start requests
  go through it too, so a link back to the start page is not followed, and the next
  scheduled run starts afresh.
- **A run ends** when its frontier (in the database) has nothing pending: links are
  written with the page that found them, in one transaction.

Keys: ``kuzet:start_urls`` (list of JSON ``{"run", "source", "url"}``), ``kuzet:requests``
(scrapy-redis priority queue), ``kuzet:seen:<run>``, ``kuzet:pages:<run>``, ``kuzet:workers``,
``kuzet:worker:<id>``, ``kuzet:inflight:<id>``, ``kuzet:starting:<id>``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from sqlalchemy import select, update

from crawler.budget import PageBudget
from crawler.dupefilter import fetched_even_if_seen
from crawler.middlewares.leases import PARENT_LEASE
from crawler.redis_guard import check_redis
from crawler.redis_queue import ReliableQueue
from kuzet import procs
from kuzet.db import Database, insert_ignore, utcnow
from kuzet.models import CrawlRun, CrawlStatus, FrontierEntry, FrontierStatus, Source

logger = logging.getLogger(__name__)

PREFIX = "kuzet"
START_KEY = f"{PREFIX}:start_urls"
QUEUE_KEY = f"{PREFIX}:requests"
SEEN_KEY = f"{PREFIX}:seen"
PAGES_KEY = f"{PREFIX}:pages"
WORKERS_KEY = f"{PREFIX}:workers"
SEEN_TTL_S = 14 * 24 * 3600  # a run's duplicate filter outlives any run


def inflight_key(worker: str) -> str:
    return f"{PREFIX}:inflight:{worker}"


def starting_key(worker: str) -> str:
    return f"{PREFIX}:starting:{worker}"


def alive_key(worker: str) -> str:
    return f"{PREFIX}:worker:{worker}"


def scrapy_settings(redis_url: str) -> dict[str, Any]:
    """The Scrapy settings of a distributed crawl worker."""
    return {
        "SCHEDULER": "crawler.distributed.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.redis_queue.ReliableQueue",
        "SCHEDULER_SERIALIZER": "crawler.serializers",  # JSON: a pickle would run code
        "SCHEDULER_QUEUE_KEY": QUEUE_KEY,
        "DUPEFILTER_CLASS": "crawler.distributed.RunDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": SEEN_KEY,
        "SCHEDULER_PERSIST": True,  # the queue belongs to all workers, not to this one
        "REDIS_URL": redis_url,
        "REDIS_START_URLS_KEY": START_KEY,
        "KUZET_DISTRIBUTED": True,  # switches on crawler.middlewares.leases
    }


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


# ---------------------------------------------------------------- the scheduler's side


def start_runs(
    db: Database, redis_url: str, source_ids: Sequence[int], lang: str = "en"
) -> list[int]:
    """Open a distributed run for each source and push its start URL; a source whose
    previous distributed run is still going is skipped (and logged). A Redis open to the
    network is refused (:class:`~crawler.redis_guard.RedisExposedError`)."""
    check_redis(redis_url, lang)
    server = redis_client(redis_url)
    opened: list[tuple[int, int, str]] = []
    with db.session() as s:
        for sid in source_ids:
            source = s.get(Source, sid)
            if source is None:
                raise ValueError(f"source {sid} does not exist")
            busy = s.scalar(
                select(CrawlRun.id).where(
                    CrawlRun.source_id == sid,
                    CrawlRun.distributed.is_(True),
                    CrawlRun.status == CrawlStatus.RUNNING,
                )
            )
            if busy is not None:
                logger.warning(
                    "Crawl of %(source)s skipped: run %(run)s is still going",
                    {"source": source.name, "run": busy},
                )
                continue
            run = CrawlRun(source_id=sid, distributed=True)
            s.add(run)
            s.flush()
            # The seed is pending before any worker sees it: the run cannot look finished.
            insert_ignore(
                s,
                FrontierEntry.__table__,
                [
                    {
                        "crawl_run_id": run.id,
                        "url": source.start_url,
                        "depth": 0,
                        "status": FrontierStatus.PENDING.value,
                    }
                ],
            )
            opened.append((run.id, sid, source.start_url))
    for run_id, sid, url in opened:
        server.rpush(START_KEY, json.dumps({"run": run_id, "source": sid, "url": url}))
    return [run_id for run_id, _, _ in opened]


def finish_runs(db: Database) -> list[int]:
    """Mark distributed runs whose frontier has nothing pending as finished."""
    with db.session() as s:
        pending = (
            select(FrontierEntry.id)
            .where(
                FrontierEntry.crawl_run_id == CrawlRun.id,
                FrontierEntry.status == FrontierStatus.PENDING,
            )
            .exists()
        )
        done = s.scalars(
            select(CrawlRun.id).where(
                CrawlRun.distributed.is_(True), CrawlRun.status == CrawlStatus.RUNNING, ~pending
            )
        ).all()
        finished = []
        for run_id in done:
            won = s.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id, CrawlRun.status == CrawlStatus.RUNNING)
                .values(status=CrawlStatus.SUCCEEDED, finished_at=utcnow())
            ).rowcount
            if won:
                finished.append(run_id)
    for run_id in finished:
        logger.info("Distributed crawl run %(run)s finished", {"run": run_id})
    return finished


# ---------------------------------------------------------------- the worker's side


class Worker:
    """This crawl worker's name, heartbeat and in-flight requests."""

    def __init__(self, server: Any, ttl_s: int) -> None:
        self.server = server
        self.ttl_s = max(2, ttl_s)
        self.id = f"{procs.HOST}:{os.getpid()}:{secrets.token_hex(3)}"
        self.inflight = inflight_key(self.id)
        self.starting = starting_key(self.id)
        self._pending: dict[str, int] = {}  # lease token -> what still holds it
        self._take_over = server.register_script(_TAKE_OVER)

    def beat(self) -> None:
        pipe = self.server.pipeline()
        pipe.sadd(WORKERS_KEY, self.id)
        pipe.set(alive_key(self.id), "1", ex=self.ttl_s)
        pipe.execute()

    # A lease is held by the callback while it runs and by each item until it is stored.
    def hold(self, token: str | None, n: int = 1) -> None:
        if token:
            self._pending[token] = self._pending.get(token, 0) + n

    def let_go(self, tokens: Iterable[str | None]) -> None:
        released = []
        for token in tokens:
            if not token or token not in self._pending:
                continue
            self._pending[token] -= 1
            if self._pending[token] <= 0:
                del self._pending[token]
                released.append(token)
        if released:
            self.server.hdel(self.inflight, *released)

    def drop(self, token: str | None) -> None:
        """Let go of a request nothing holds: its run is gone, or a retry or redirect of
        it is queued in its place."""
        if token:
            self.server.hdel(self.inflight, token)

    def dead_workers(self) -> list[str]:
        others = [w.decode() for w in self.server.smembers(WORKERS_KEY) if w.decode() != self.id]
        if not others:
            return []
        pipe = self.server.pipeline()
        for w in others:
            pipe.exists(alive_key(w))
        return [w for w, alive in zip(others, pipe.execute(), strict=True) if not alive]

    def take_over(self, worker: str) -> tuple[int, int]:
        """Put a worker's in-flight requests back in the shared queue and its unqueued
        start messages back in the start list, in one atomic script (so two workers never
        both put them back, and a worker dying halfway loses nothing); how many of each."""
        n, starts = self._take_over(
            keys=[inflight_key(worker), starting_key(worker), QUEUE_KEY, START_KEY, WORKERS_KEY],
            args=[worker],
        )
        return int(n), int(starts)

    def leave(self) -> None:
        pipe = self.server.pipeline()
        pipe.srem(WORKERS_KEY, self.id)
        pipe.delete(alive_key(self.id))
        pipe.execute()


# KEYS: in-flight hash, starting list, request queue, start list, workers set; ARGV: worker
_TAKE_OVER = """
local n = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  local sp = string.find(v, ' ', 1, true)
  redis.call('ZADD', KEYS[3], string.sub(v, 1, sp - 1), string.sub(v, sp + 1))
  n = n + 1
end
redis.call('DEL', KEYS[1])
local starts = redis.call('LRANGE', KEYS[2], 0, -1)
for _, m in ipairs(starts) do redis.call('RPUSH', KEYS[4], m) end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[5], ARGV[1])
return {n, #starts}
"""

# KEYS: the run's admitted set; ARGV: limit, TTL, URLs. One step for all of a page's links.
_ADMIT = """
local limit = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    out[#out + 1] = 1
  elseif redis.call('SCARD', KEYS[1]) < limit then
    redis.call('SADD', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
"""


class RedisBudget(PageBudget):
    """A run's page limit shared by all crawl workers: the URLs admitted, in one expiring
    set per run (``kuzet:pages:<run>``)."""

    def __init__(self, server: Any, run_id: int) -> None:
        self.key = f"{PAGES_KEY}:{run_id}"
        self._admit = server.register_script(_ADMIT)

    def admit(self, urls: Sequence[str], limit: int) -> list[bool]:
        if not urls:
            return []
        return [bool(ok) for ok in self._admit(keys=[self.key], args=[limit, SEEN_TTL_S, *urls])]


class RunDupeFilter(RFPDupeFilter):
    """scrapy-redis's duplicate filter, with one expiring set per crawl run (the run id is
    in ``meta["kuzet_run"]``): a URL is fetched once per run, and again the next run."""

    def key_for(self, request: Any) -> str:
        return f"{self.key}:{request.meta.get('kuzet_run', 'none')}"

    def request_seen(self, request: Any) -> bool:
        key = self.key_for(request)
        pipe = self.server.pipeline()
        pipe.sadd(key, self.request_fingerprint(request))
        pipe.expire(key, SEEN_TTL_S)
        added, _ = pipe.execute()
        return added == 0

    def close(self, reason: str = "") -> None:
        pass  # the sets belong to the runs, not to this worker


class Scheduler(RedisScheduler):
    """scrapy-redis's scheduler, with the duplicate check and the push in one step, and
    the leases of what a new request came from let go once it is queued.

    - A link found in a response holds that response's lease
      (``meta["kuzet_parent_lease"]``, held by :mod:`crawler.middlewares.leases`) until here:
      Scrapy hands a callback's output to the scheduler some time after the callback has
      finished, and a worker dying in between must not lose the link.
    - A retry or a redirect of a popped request carries that request's lease
      (``meta["kuzet_lease"]``): once the new request is queued the old one is done.
    - A redirect is queued even to a URL already seen in this run: the redirecting URL's
      frontier entry is done only when a page is stored under it.
    - A request put back after its worker died is fetched again even if its page was
      stored: the worker may have died before queueing the page's links, and fetching
      the page again queues them (the page itself, unchanged, adds no row).
    """

    def enqueue_request(self, request: Any) -> bool:
        parent = request.meta.pop(PARENT_LEASE, None)
        # A retry goes through Redis: not the login profile the route put in its meta
        # (the route puts it back after the next pop).
        request.meta.pop("playwright_context_kwargs", None)
        # Nor the proxy and its credentials: the route and Scrapy's proxy middleware set
        # them again for the next fetch, and the queue keeps no password.
        for key in ("proxy", "_auth_proxy", "_scheme_proxy"):
            request.meta.pop(key, None)
        request.headers.pop(b"Proxy-Authorization", None)
        previous = request.meta.pop("kuzet_lease", None)
        queue: ReliableQueue = self.queue
        queued = queue.push_unseen(
            request,
            self.df.key_for(request),
            self.df.request_fingerprint(request),
            SEEN_TTL_S,
            # seen or not (marked seen all the same: a link to it later is not followed)
            force=request.dont_filter or fetched_even_if_seen(request),
        )
        worker: Worker = self.spider.worker
        worker.let_go([parent])
        worker.drop(previous)
        if not queued:
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True
