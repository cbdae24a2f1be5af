"""What the analysis stage writes and officers decide on."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from kuzet.db import utcnow
from kuzet.models.base import Base, _enum
from kuzet.models.enums import DetectionStatus

if TYPE_CHECKING:  # relationships across modules; SQLAlchemy resolves them by name
    from kuzet.models.accounts import User
    from kuzet.models.crawl import Page
    from kuzet.models.evidence import Capture
    from kuzet.models.notice import NoticeFact


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
    # The rule's own confidence (0–1): orders the queue after severity.
    confidence: Mapped[float] = mapped_column(default=0.5, server_default=text("0.5"))
    spans: Mapped[list[Any]] = mapped_column(default=list)
    # The condition tree as evaluated: what matched, with which evidence and score.
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
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
