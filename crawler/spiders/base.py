"""What every kuzet spider shares: its Source row, the persistent frontier (so a killed
crawl resumes where it stopped), conditional requests against stored versions,
robots.txt per source, per-source proxy, and turning responses and failures into items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from sqlalchemy import func, select
from twisted.python.failure import Failure

from crawler.budget import LocalBudget, PageBudget
from crawler.database import database_for
from crawler.extract import parse_date
from crawler.items import PageItem
from crawler.middlewares.ssrf import BlockedRequest
from crawler.render import context_options, needs_browser
from kuzet.db import insert_ignore, utcnow
from kuzet.models import FetchStatus, FrontierEntry, FrontierStatus, Page, PageBody, Source
from kuzet.netguard import own_hosts
from kuzet.profiles import cookie_header, load_state, profile_path


class KuzetSpider(scrapy.Spider):
    """Base of the source-kind spiders. Subclasses implement :meth:`parse`."""

    source: Source

    def __init__(
        self,
        *args: Any,
        source_id: int,
        crawl_run_id: int,
        resume: bool = False,
        budget: PageBudget | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.source_id = int(source_id)
        self.crawl_run_id = int(crawl_run_id)
        self.resume = bool(resume)
        self._scheduled: set[str] = set()
        # The run's page limit: counted over what this spider scheduled, unless the run
        # is shared (distributed crawl workers).
        self.budget = budget or LocalBudget(self._scheduled)
        # url → (etag, last-modified, page id) of the newest stored version
        self._known: dict[str, tuple[str | None, str | None, int]] = {}
        # url → status of the newest row (ok / deleted), to notice items that vanish
        self._latest: dict[str, FetchStatus] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> KuzetSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._load()
        return spider  # type: ignore[return-value]

    # -------------------------------------------------------------- state

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return database_for(self.crawler)

    @property
    def allow_private(self) -> bool:
        return self.source.allow_private

    def _load(self) -> None:
        with self.db.session() as session:
            source = session.get(Source, self.source_id)
            if source is None:
                raise ValueError(f"source {self.source_id} does not exist")
            session.expunge(source)
            self.source = source
            # Fixed for the run; read on every request.
            self.proxy: str | None = source.proxy or self.settings.get("KUZET_PROXY") or None
            # Through the browser: asked for, or needed by a SOCKS proxy.
            self.rendered = needs_browser(source.render, self.proxy)
            self._profile: dict[str, Any] | None = None
            if source.login_profile:
                home = Path(self.settings.get("KUZET_HOME") or ".")
                self._profile = load_state(profile_path(home / "profiles", source.login_profile))
            newest = (
                select(Page.url, func.max(Page.id).label("id"))
                .where(Page.source_id == self.source_id, Page.fetch_status == FetchStatus.OK)
                .group_by(Page.url)
                .subquery()
            )
            for url, etag, last_modified, pid in session.execute(
                select(Page.url, Page.etag, Page.last_modified, Page.id).join(
                    newest, Page.id == newest.c.id
                )
            ):
                self._known[url] = (etag, last_modified, pid)
            latest = (
                select(func.max(Page.id).label("id"))
                .where(Page.source_id == self.source_id, Page.fetch_status != FetchStatus.FAILED)
                .group_by(Page.url)
                .subquery()
            )
            for url, status in session.execute(
                select(Page.url, Page.fetch_status).join(latest, Page.id == latest.c.id)
            ):
                self._latest[url] = status

    def context_options(self) -> dict[str, Any]:
        """The options of this source's browser context (proxy, login profile)."""
        private = own_hosts(self.source.start_url) if self.source.allow_private else ()
        return context_options(proxy=self.proxy, storage_state=self._profile, private_hosts=private)

    def stored_body(self, url: str) -> bytes | None:
        """The newest stored body of ``url`` (to follow links of a page answered with 304)."""
        known = self._known.get(url)
        if not known:
            return None
        with self.db.session() as session:
            body = session.get(PageBody, known[2])
            return body.raw() if body else None

    # -------------------------------------------------------------- requests

    async def start(self) -> AsyncIterator[scrapy.Request]:
        with self.db.session() as session:
            if self.resume:
                rows = session.execute(
                    select(FrontierEntry.url, FrontierEntry.depth, FrontierEntry.status).where(
                        FrontierEntry.crawl_run_id == self.crawl_run_id
                    )
                ).all()
                self._scheduled.update(url for url, _, _ in rows)
                pending = [(u, d) for u, d, st in rows if st == FrontierStatus.PENDING]
                self.crawler.stats.set_value("kuzet/frontier/resumed", len(pending))
            else:
                pending = list(self.seeds())
                insert_ignore(
                    session,
                    FrontierEntry.__table__,
                    [
                        {
                            "crawl_run_id": self.crawl_run_id,
                            "url": u,
                            "depth": d,
                            "status": FrontierStatus.PENDING.value,
                        }
                        for u, d in pending
                    ],
                )
        for url, depth in pending:
            yield self.request(url, depth, seed=True)

    def seeds(self) -> Iterable[tuple[str, int]]:
        """(url, depth) pairs to start a fresh run with."""
        yield self.source.start_url, 0

    def request(
        self,
        url: str,
        depth: int,
        *,
        seed: bool = False,
        callback: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> scrapy.Request:
        self._scheduled.add(url)
        headers: dict[str, str] = {}
        known = self._known.get(url)
        if known:
            etag, last_modified, _ = known
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
        m: dict[str, Any] = {"depth": depth, "handle_httpstatus_list": [304], **(meta or {})}
        if not self.source.obey_robots:
            m["dont_obey_robotstxt"] = True
        # Proxy and browser routing: SourceRouteMiddleware, for every request.
        if self._profile and not self.rendered:
            cookie = cookie_header(self._profile, url)
            if cookie:
                headers["Cookie"] = cookie
        return scrapy.Request(
            url,
            callback=callback or self.parse,
            errback=self.on_error,
            headers=headers,
            meta=m,
            dont_filter=seed,
        )

    # -------------------------------------------------------------- items

    def item(self, url: str, **fields: Any) -> PageItem:
        return PageItem(
            source_id=self.source_id,
            crawl_run_id=self.crawl_run_id,
            url=url,
            fetched_at=utcnow(),
            **fields,
        )

    def response_item(
        self,
        response: Response,
        *,
        url: str | None = None,
        links: list[tuple[str, int]] | None = None,
        **extra: Any,
    ) -> PageItem:
        """An item for a fetched response (``url``: the frontier URL, before redirects)."""
        requested = url or response.meta.get("redirect_urls", [response.url])[0]
        content_type, charset = media_type(response)
        fields: dict[str, Any] = {
            "fetch_status": FetchStatus.OK.value,
            "final_url": response.url,
            "http_status": response.status,
            "content_type": content_type or None,
            "charset": charset,
            "body": response.body,
            "server_ip": str(response.ip_address) if response.ip_address else None,
            "protocol": response.protocol,
            "etag": _header(response, b"ETag"),
            "last_modified": _header(response, b"Last-Modified"),
            "links": links or [],
        }
        fields.update(extra)
        # A date the listing gave (feed entry, news sitemap) when the request was made.
        published = parse_date(response.meta.get("kuzet_published_at") or "")
        if published:
            fields["meta"] = {**fields.get("meta", {}), "published_at": published.isoformat()}
        self.crawler.stats.inc_value("kuzet/pages/fetched")
        if response.status == 304:
            self.crawler.stats.inc_value("kuzet/pages/not_modified")
            fields.update(store_page=False, body=None)
        return self.item(requested, **fields)

    def on_error(self, failure: Failure) -> Iterable[PageItem]:
        request = failure.request  # type: ignore[attr-defined]
        # The frontier URL: where a redirect chain started (a 404 or a loop at its end
        # is that URL's failure).
        url = request.meta.get("redirect_urls", [request.url])[0]
        fields: dict[str, Any] = {"fetch_status": FetchStatus.FAILED.value}
        if url != request.url:
            fields["final_url"] = request.url
        if failure.check(HttpError):
            response = failure.value.response
            fields.update(
                final_url=response.url,
                http_status=response.status,
                server_ip=str(response.ip_address) if response.ip_address else None,
                protocol=response.protocol,
                error=f"HTTP {response.status}",
            )
        elif failure.check(BlockedRequest):
            fields["error"] = str(failure.value)
        elif failure.check(IgnoreRequest) and "robots.txt" not in str(failure.value):
            # Given up on (a redirect loop, ...): a failed fetch with the reason.
            fields["error"] = failure.getErrorMessage()
        elif failure.check(IgnoreRequest):
            # Refused on purpose by robots.txt: not a failed fetch, but done.
            self.crawler.stats.inc_value("kuzet/pages/ignored")
            yield self.item(url, fetch_status=FetchStatus.OK.value, store_page=False)
            return
        else:
            fields["error"] = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.crawler.stats.inc_value("kuzet/pages/failed")
        self.crawler.stats.inc_value("kuzet/pages/fetched")
        yield self.item(url, **fields)


def media_type(response: Response) -> tuple[str, str | None]:
    """(lower-case media type, charset) from the Content-Type header; ("", None) if absent."""
    header = response.headers.get("Content-Type", b"").decode("latin-1")
    content_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return content_type.strip().lower(), charset


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
