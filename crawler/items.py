"""What a spider hands to the pipelines: one fetch of one URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PageItem:
    source_id: int
    crawl_run_id: int
    url: str
    fetched_at: datetime
    fetch_status: str  # FetchStatus value
    final_url: str | None = None
    http_status: int | None = None
    error: str | None = None
    content_type: str | None = None
    body: bytes | None = None
    title: str = ""
    text: str = ""
    html: str = ""
    server_ip: str | None = None
    protocol: str | None = None
    # Filled by the pipelines in turn.
    page_id: int | None = None
    is_new: bool = False
    detection_ids: list[int] = field(default_factory=list)
