"""What a spider hands to the pipelines: one fetch of one URL (or one item of a feed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PageItem:
    source_id: int
    crawl_run_id: int
    url: str  # the URL as scheduled in the frontier (before redirects)
    fetched_at: datetime
    fetch_status: str  # FetchStatus value
    final_url: str | None = None
    http_status: int | None = None
    error: str | None = None
    content_type: str | None = None
    charset: str | None = None
    body: bytes | None = None
    server_ip: str | None = None
    protocol: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # Per-kind facts (post views, media links, feed entry date, ...).
    meta: dict[str, Any] = field(default_factory=dict)
    # Frontier bookkeeping, written with the page in one transaction.
    frontier_url: str | None = None  # the frontier entry this fetch completes (default: url)
    links: list[tuple[str, int]] = field(default_factory=list)  # (url, depth) discovered
    # False for a 304 or a robots.txt refusal: no page row, only the frontier entry is done.
    store_page: bool = True
    # Distributed crawls: the lease on the request that fetched it, let go once stored.
    lease: str | None = None
    # Filled by the store pipeline.
    page_id: int | None = None
    is_new: bool = False


# Signal sent by the store pipeline with ``items=[...]`` once their batch is committed.
pages_stored = object()
