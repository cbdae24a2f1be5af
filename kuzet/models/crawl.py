"""What the crawl stage writes: sources, runs, the frontier, page versions."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kuzet.db import utcnow
from kuzet.models.base import Base, _enum
from kuzet.models.enums import AnalysisStatus, CrawlStatus, FetchStatus, FrontierStatus, SourceKind

if TYPE_CHECKING:  # relationships across modules; SQLAlchemy resolves them by name
    from kuzet.models.detection import Detection


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind), default=SourceKind.SITE)
    start_url: Mapped[str] = mapped_column(Text)
    max_depth: Mapped[int] = mapped_column(Integer, default=2)
    max_pages: Mapped[int] = mapped_column(Integer, default=100)
    allow: Mapped[list[Any]] = mapped_column(default=list)  # URL regexes a link must match
    deny: Mapped[list[Any]] = mapped_column(default=list)  # URL regexes that exclude a link
    render: Mapped[bool] = mapped_column(Boolean, default=False)
    obey_robots: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    proxy: Mapped[str | None] = mapped_column(Text)
    login_profile: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the scheduler crawls it: a cron line ("*/30 * * * *") or "every 30m" / "every 6h".
    schedule: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    status: Mapped[CrawlStatus] = mapped_column(_enum(CrawlStatus), default=CrawlStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The crawl process currently working on this run (to tell a live run from a dead one).
    pid: Mapped[int | None]
    host: Mapped[str | None] = mapped_column(String(200))
    # Crawled by the shared crawl workers through Redis (no single process owns it).
    distributed: Mapped[bool] = mapped_column(Boolean, default=False)

    source: Mapped[Source] = relationship()


class FrontierEntry(Base):
    """A URL a crawl run has scheduled; survives the crawl process so a run can resume."""

    __tablename__ = "frontier"
    __table_args__ = (
        UniqueConstraint("crawl_run_id", "url", name="uq_frontier_run_url"),
        Index("ix_frontier_run_status", "crawl_run_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    url: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[FrontierStatus] = mapped_column(
        _enum(FrontierStatus), default=FrontierStatus.PENDING
    )


class Page(Base):
    """One fetched version of a URL (a failed fetch is a row too, with its error)."""

    __tablename__ = "pages"
    __table_args__ = (
        UniqueConstraint("url", "content_sha256", name="uq_pages_url_content"),
        Index("ix_pages_analysis_status", "analysis_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    url: Mapped[str] = mapped_column(Text, index=True)
    final_url: Mapped[str | None] = mapped_column(Text)
    fetch_status: Mapped[FetchStatus] = mapped_column(_enum(FetchStatus))
    http_status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_type: Mapped[str | None] = mapped_column(String(200))
    charset: Mapped[str | None] = mapped_column(String(50))  # as declared by the server
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    content_length: Mapped[int | None]
    server_ip: Mapped[str | None] = mapped_column(String(64))
    protocol: Mapped[str | None] = mapped_column(String(32))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # Filled by analysis: what the page says.
    analysis_status: Mapped[AnalysisStatus] = mapped_column(
        _enum(AnalysisStatus), default=AnalysisStatus.PENDING
    )
    analysis_error: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(String(50))  # as detected
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime | None]
    # Per-kind facts (a Telegram post's views and media, a feed entry's date, ...).
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    source: Mapped[Source] = relationship()
    detections: Mapped[list[Detection]] = relationship(back_populates="page")
    body: Mapped[PageBody | None] = relationship(cascade="all, delete-orphan")


class PageBody(Base):
    """The raw response body of a page version, compressed."""

    __tablename__ = "page_bodies"

    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), primary_key=True)
    compression: Mapped[str] = mapped_column(String(16), default="zlib")
    data: Mapped[bytes] = mapped_column(LargeBinary)

    def raw(self) -> bytes:
        if self.compression == "zlib":
            return zlib.decompress(self.data)
        if self.compression == "none":
            return self.data
        raise ValueError(f"unknown page body compression {self.compression!r}")
