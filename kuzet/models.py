"""Database models: one table per stage of source → crawl → page → detection →
capture → review → notice.

Status enums name their final states explicitly; a row in a final state is never
moved back (a retry is a new attempt recorded on the same row only while it is not final).
"""

from __future__ import annotations

import enum
import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from kuzet.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    # SQLAlchemy reads this mapping off the class; it is never mutated.
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the readable value, not the member name, and never a native DB enum
    # type, so adding a state is a plain migration on every backend.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class CrawlStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    FINAL: frozenset[CrawlStatus]


CrawlStatus.FINAL = frozenset({CrawlStatus.SUCCEEDED, CrawlStatus.FAILED})


class FetchStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    # The item vanished since the previous crawl (a deleted Telegram post).
    DELETED = "deleted"


class AnalysisStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to analyse (failed fetch, deleted item)

    FINAL: frozenset[AnalysisStatus]


AnalysisStatus.FINAL = frozenset(
    {AnalysisStatus.DONE, AnalysisStatus.FAILED, AnalysisStatus.SKIPPED}
)


class FrontierStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DetectionStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    FINAL: frozenset[DetectionStatus]


DetectionStatus.FINAL = frozenset({DetectionStatus.CONFIRMED, DetectionStatus.REJECTED})


class CaptureStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    FINAL: frozenset[CaptureStatus]


CaptureStatus.FINAL = frozenset({CaptureStatus.SUCCEEDED, CaptureStatus.FAILED})


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    SENT = "sent"
    WITHDRAWN = "withdrawn"


class Role(enum.StrEnum):
    MONITOR = "monitor"
    ANALYST = "analyst"
    OFFICER = "officer"
    HEAD = "head"
    ADMIN = "admin"


class SourceKind(enum.StrEnum):
    SITE = "site"
    FEED = "feed"
    SITEMAP = "sitemap"
    TELEGRAM = "telegram"


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


class Detection(Base):
    """A rule hit on a page, waiting for (or carrying) an officer's decision."""

    __tablename__ = "detections"
    __table_args__ = (
        UniqueConstraint("page_id", "rule_id", "rule_version", name="uq_detection_page_rule"),
        Index("ix_detections_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), index=True)
    # The notice line that carries this detection (several rules may hit one URL).
    notice_fact_id: Mapped[int | None] = mapped_column(ForeignKey("notice_facts.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(200))
    rule_version: Mapped[int]
    rule_fingerprint: Mapped[str] = mapped_column(String(64))
    rule_title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    violation_type: Mapped[str] = mapped_column(String(100), index=True)
    violation_type_title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    legal_norm: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str] = mapped_column(String(16))
    score: Mapped[float]
    spans: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[DetectionStatus] = mapped_column(
        _enum(DetectionStatus), default=DetectionStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)

    page: Mapped[Page] = relationship(back_populates="detections")
    capture: Mapped[Capture | None] = relationship()
    notice_fact: Mapped[NoticeFact | None] = relationship(back_populates="detections")
    decided_by: Mapped[User | None] = relationship()

    @validates("decision_reason")
    def _reason_not_blank(self, _key: str, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a decision reason, when given, must not be blank")
        return value


class Capture(Base):
    """Browser evidence of a page: a job with explicit final states, then its artifacts."""

    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[CaptureStatus] = mapped_column(
        _enum(CaptureStatus), default=CaptureStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    final_url: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None]
    server_ip: Mapped[str | None] = mapped_column(String(64))
    protocol: Mapped[str | None] = mapped_column(String(32))
    browser_version: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(Text)
    tool_version: Mapped[str | None] = mapped_column(String(50))

    page: Mapped[Page | None] = relationship()
    artifacts: Mapped[list[Artifact]] = relationship(
        back_populates="capture", order_by="Artifact.id", cascade="all, delete-orphan"
    )

    def artifact(self, kind: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.kind == kind), None)


class Artifact(Base):
    """One stored file of a capture, addressed by its SHA-256."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    capture: Mapped[Capture] = relationship(back_populates="artifacts")


class Notice(Base):
    """A Form 2 notice: one violation type and legal norm, many facts."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.DRAFT)
    authority: Mapped[str] = mapped_column(Text, default="")
    violation_type: Mapped[str] = mapped_column(String(100))
    violation_type_title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    legal_norm: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    facts: Mapped[list[NoticeFact]] = relationship(
        back_populates="notice", order_by="NoticeFact.position", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship()


class NoticeFact(Base):
    """One numbered line of Form 2 field 3, frozen at the time it was added."""

    __tablename__ = "notice_facts"
    __table_args__ = (UniqueConstraint("notice_id", "position", name="uq_fact_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    position: Mapped[int]
    url: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    protocol: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime | None]
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))

    notice: Mapped[Notice] = relationship(back_populates="facts")
    detections: Mapped[list[Detection]] = relationship(
        back_populates="notice_fact", order_by="Detection.id"
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    position: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.OFFICER)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only log of who did what; each entry chains the previous entry's hash."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
