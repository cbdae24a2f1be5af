"""Operations: the work queue the scheduler fills and workers drain, and process locks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kuzet.db import utcnow
from kuzet.models.base import Base, _enum
from kuzet.models.enums import TaskKind, TaskStatus


class Task(Base):
    """One unit of work: a crawl of a source, or a re-check of a notice fact. The
    scheduler only inserts these; ``kuzet worker`` processes claim and run them, so a
    slow crawl never delays the clock."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.QUEUED)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    notice_fact_id: Mapped[int | None] = mapped_column(ForeignKey("notice_facts.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    worker_pid: Mapped[int | None]
    worker_host: Mapped[str | None] = mapped_column(String(200))


class ProcessLock(Base):
    """A named lock held by one process (the scheduler), kept alive by a heartbeat."""

    __tablename__ = "process_locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """Something a person must hear about now: an urgent detection, a URL still online
    after a notice, a reminder. Delivered by e-mail and/or webhook, singly or as a digest;
    a failed delivery is recorded and tried again."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detections.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
