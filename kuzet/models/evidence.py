"""What the capture stage writes: capture jobs and their stored artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kuzet.db import utcnow
from kuzet.models.base import Base, _enum
from kuzet.models.enums import CaptureStatus

if TYPE_CHECKING:  # relationships across modules; SQLAlchemy resolves them by name
    from kuzet.models.crawl import Page


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
    retry_at: Mapped[datetime | None]
    # Who runs it: a restart on the same host requeues it at once if that process is gone.
    worker_pid: Mapped[int | None]
    worker_host: Mapped[str | None] = mapped_column(String(200))
    final_url: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None]
    server_ip: Mapped[str | None] = mapped_column(String(64))
    protocol: Mapped[str | None] = mapped_column(String(32))
    browser_version: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(Text)
    tool_version: Mapped[str | None] = mapped_column(String(50))
    # Everything recorded about the load (redirects, headers, TLS, timings, highlight, the
    # rule hits that asked for it); the manifest lists it with every artifact's hash.
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))

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
