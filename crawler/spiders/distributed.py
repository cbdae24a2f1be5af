"""The distributed crawl worker's spider: one long-lived RedisSpider that crawls every run
pushed to Redis, each through the spider of its source's kind.

Requests travel through Redis between workers, so their callbacks must be methods of this
spider, by name: each request names its run (``meta["kuzet_run"]``) and the source
spider's callback and errback (``kuzet_cb``, ``kuzet_eb``); :meth:`dispatch` hands the
response to that source spider, kept per run in this process. See
:mod:`crawler.distributed` for the queue, the leases and recovery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.spiders import RedisSpider
from sqlalchemy import select
from twisted.internet import task
from twisted.python.failure import Failure

from crawler import distributed
from crawler.database import database_for
from crawler.items import PageItem, pages_stored
from crawler.middlewares.route import browser_context
from crawler.middlewares.spider_errors import failed_item
from crawler.redis_guard import RedisExposedError, check_redis
from crawler.render import close_context
from crawler.spiders import spider_for
from crawler.spiders.base import KuzetSpider
from kuzet.db import insert_ignore
from kuzet.models import CrawlRun, CrawlStatus, FrontierEntry, FrontierStatus

TICK_S = 2.0


class DistributedSpider(RedisSpider):
    name = "kuzet"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DistributedSpider:
        # Before anything talks to Redis: refuse one that anyone on the network may use.
        lang = crawler.settings.get("KUZET_LANG") or "en"
        try:
            check_redis(crawler.settings["REDIS_URL"], lang)
        except RedisExposedError as exc:
            logging.getLogger(__name__).critical("%(message)s", {"message": exc.localized(lang)})
            raise
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._setup()
        return spider  # type: ignore[return-value]

    def _setup(self) -> None:
        self.db = database_for(self.crawler)
        self.worker = distributed.Worker(
            self.server, self.settings.getint("KUZET_CRAWL_WORKER_TTL_S", 30)
        )
        self.worker.beat()
        self._runs: dict[int, KuzetSpider | None] = {}
        self._hosts: dict[str, int] = {}  # host -> the last run whose request went there
        self.crawler.signals.connect(self._stored, signal=pages_stored)
        self.crawler.signals.connect(self._opened, signal=signals.spider_opened)
        self.crawler.signals.connect(self._closed, signal=signals.spider_closed)
        self._tick: task.LoopingCall | None = None

    def _opened(self, spider: Any) -> None:
        # Not before: the reactor Scrapy asks for is installed only once the crawl starts
        # (a LoopingCall made earlier would install the default one).
        self.worker.beat()
        self._tick = task.LoopingCall(self.tick)
        self._tick.start(min(TICK_S, self.worker.ttl_s / 3), now=False)
        self.logger.info("Crawl worker %(id)s ready", {"id": self.worker.id})

    async def start(self) -> AsyncIterator[Any]:
        # Start messages are read on idle and on every tick (scrapy-redis's way).
        return
        yield  # pragma: no cover - makes this an async generator

    # ---------------------------------------------------------- housekeeping

    def tick(self) -> None:
        """Heartbeat; put back dead workers' requests; read start messages; end runs."""
        try:
            self.worker.beat()
            for dead in self.worker.dead_workers():
                n, starts = self.worker.take_over(dead)
                self.crawler.stats.inc_value("kuzet/distributed/put_back", n)
                self.logger.warning(
                    "Crawl worker %(dead)s stopped: %(n)d requests and %(s)d start URLs put back",
                    {"dead": dead, "n": n, "s": starts},
                )
            self.schedule_next_requests()
            distributed.finish_runs(self.db)
            self._forget_finished()
        except Exception:  # a failed tick is retried at the next one
            self.logger.exception("Crawl worker housekeeping failed")

    def _forget_finished(self) -> None:
        """Let go of the runs that are over (whichever worker saw them end): their
        source spiders, hosts and browser contexts."""
        if not self._runs:
            return
        with self.db.session() as s:
            over = s.scalars(
                select(CrawlRun.id).where(
                    CrawlRun.id.in_(list(self._runs)), CrawlRun.status != CrawlStatus.RUNNING
                )
            ).all()
        for run_id in over:
            inner = self._runs.pop(run_id, None)
            if inner is not None and inner.rendered:
                self._close_context(inner)
            for host in [h for h, r in self._hosts.items() if r == run_id]:
                del self._hosts[host]

    def _close_context(self, inner: KuzetSpider) -> None:
        name = browser_context(inner)
        d = deferred_from_coro(close_context(self.crawler, name))
        d.addCallback(
            lambda n: (
                n
                and self.logger.info(
                    "Browser context %(name)s closed: its run is over", {"name": name}
                )
            )
        )
        d.addErrback(
            lambda f: self.logger.warning(
                "Browser context %(name)s not closed: %(error)s",
                {"name": name, "error": f.getErrorMessage()},
            )
        )

    def _closed(self, spider: Any, reason: str) -> None:
        if self._tick is not None and self._tick.running:
            self._tick.stop()
        # What this worker popped and did not finish goes back for the others.
        self.worker.take_over(self.worker.id)
        self.worker.leave()

    # ---------------------------------------------------------- start messages

    def pop_list_queue(self, redis_key: str, batch_size: int) -> list[bytes]:
        """Start messages, moved one by one into this worker's ``starting`` list (atomic),
        so a worker dying before it queued them leaves them to be put back."""
        out = []
        for _ in range(batch_size):
            data = self.server.lmove(redis_key, self.worker.starting, "LEFT", "RIGHT")
            if data is None:
                break
            out.append(data)
        return out

    def schedule_next_requests(self) -> None:
        super().schedule_next_requests()
        # Every request made from them is in the shared queue now.
        self.server.delete(self.worker.starting)

    def make_request_from_data(self, data: bytes) -> Iterable[scrapy.Request]:
        try:
            message = json.loads(data)
            run_id, url = int(message["run"]), str(message["url"])
        except (ValueError, KeyError, TypeError, RecursionError):
            return self._refuse_start(data, "not understood")
        inner = self._inner(run_id)
        if inner is None:
            return []
        # The scheduler pushes a URL it put in the run's frontier: nothing else is a start.
        if url != inner.source.start_url and not self._in_frontier(run_id, url):
            return self._refuse_start(data, "its URL is not in the run's frontier")
        seeds = list(inner.seeds()) if url == inner.source.start_url else [(url, 0)]
        # Seeds count against the run's page limit, and are always crawled.
        inner.budget.admit([u for u, _ in seeds], max(inner.source.max_pages, len(seeds)))
        with self.db.session() as s:
            insert_ignore(
                s,
                FrontierEntry.__table__,
                [
                    {
                        "crawl_run_id": run_id,
                        "url": u,
                        "depth": d,
                        "status": FrontierStatus.PENDING.value,
                    }
                    for u, d in seeds
                ],
            )
        # Through the duplicate filter: a link back to the start page is not followed.
        return [
            self._wrap(run_id, inner.request(u, d).replace(dont_filter=False)) for u, d in seeds
        ]

    def _refuse_start(self, data: bytes, why: str) -> list[scrapy.Request]:
        self.crawler.stats.inc_value("kuzet/distributed/rejected")
        self.logger.error(
            "Start message refused (%(why)s), dropped: %(data)r", {"why": why, "data": data[:200]}
        )
        return []

    def _in_frontier(self, run_id: int, url: str) -> bool:
        with self.db.session() as s:
            found = s.scalar(
                select(FrontierEntry.id).where(
                    FrontierEntry.crawl_run_id == run_id, FrontierEntry.url == url
                )
            )
        return found is not None

    # ---------------------------------------------------------- per-run source spiders

    def run_spider(self, run_id: int | None, url: str | None = None) -> KuzetSpider | None:
        """The source spider of a run (for the middlewares: proxy, private addresses); a
        request of no run (robots.txt) at ``url`` speaks for the last run seen at its host
        (see :func:`crawler.runs.source_spider`)."""
        host = urlsplit(url).netloc.lower() if url else ""
        if run_id is None:
            run_id = self._hosts.get(host)
            if run_id is None:
                return None
        elif host:
            self._hosts[host] = run_id
        return self._inner(run_id)

    def _inner(self, run_id: int) -> KuzetSpider | None:
        if run_id in self._runs:
            return self._runs[run_id]
        with self.db.session() as s:
            run = s.get(CrawlRun, run_id)
            kind = run.source.kind if run is not None else None
            live = run is not None and run.status == CrawlStatus.RUNNING
            source_id = run.source_id if run is not None else None
        inner: KuzetSpider | None = None
        if live and kind is not None:
            inner = spider_for(kind).from_crawler(
                self.crawler,
                source_id=source_id,
                crawl_run_id=run_id,
                budget=distributed.RedisBudget(self.server, run_id),
            )
        self._runs[run_id] = inner
        return inner

    def _wrap(self, run_id: int, request: scrapy.Request) -> scrapy.Request:
        cb = getattr(request.callback, "__name__", "parse")
        eb = getattr(request.errback, "__name__", "on_error")
        meta = {k: v for k, v in request.meta.items() if k != "kuzet_lease"}  # a new request
        return request.replace(
            callback=self.dispatch,
            errback=self.dispatch_error,
            meta={**meta, "kuzet_run": run_id, "kuzet_cb": cb, "kuzet_eb": eb},
        )

    # ---------------------------------------------------------- callbacks

    def parse(self, response: Response, **kwargs: Any) -> Any:
        return self.dispatch(response)

    def dispatch(self, response: Response) -> Iterator[Any]:
        return self._handle(response.meta, "kuzet_cb", "parse", response, response)

    def dispatch_error(self, failure: Failure) -> Iterator[Any]:
        meta = failure.request.meta  # type: ignore[attr-defined]
        return self._handle(meta, "kuzet_eb", "on_error", failure, None)

    def _handle(
        self, meta: dict[str, Any], key: str, default: str, arg: Any, response: Response | None
    ) -> Iterator[Any]:
        """Call the run's source-spider method named in ``meta[key]`` with ``arg``."""
        run_id = meta.get("kuzet_run")
        inner = self._inner(int(run_id)) if run_id is not None else None
        if inner is None:
            self.worker.drop(meta.get("kuzet_lease"))  # the run is gone: nothing to do for it
            return iter(())
        method = getattr(inner, meta.get(key, default))
        return self._relay(run_id, inner, meta.get("kuzet_lease"), lambda: method(arg), response)

    def _relay(
        self,
        run_id: int,
        inner: KuzetSpider,
        lease: str | None,
        call: Any,
        response: Response | None,
    ) -> Iterator[Any]:
        """The source spider's output, its requests rewired to this spider; the lease is
        held until the callback is over, each of its items is stored and each of its
        requests is queued (:mod:`crawler.middlewares.leases`)."""
        self.worker.hold(lease)
        try:
            try:
                for out in call() or ():
                    if isinstance(out, scrapy.Request):
                        yield self._wrap(run_id, out)
                        continue
                    if isinstance(out, PageItem):
                        out.lease = lease
                        self.worker.hold(lease)
                    yield out
            except Exception as exc:
                if response is None:
                    raise
                inner.crawler.stats.inc_value("kuzet/pages/parse_error")
                item = failed_item(inner.item, response, exc)
                item.lease = lease
                self.worker.hold(lease)
                yield item
        finally:
            self.worker.let_go([lease])

    def _stored(self, items: list[Any]) -> None:
        self.worker.let_go(getattr(i, "lease", None) for i in items)
