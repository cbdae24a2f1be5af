"""Form 2 notices and their numbered facts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kuzet.db import utcnow
from kuzet.models.base import Base, _enum
from kuzet.models.enums import NoticeStatus, RecheckStatus

if TYPE_CHECKING:  # relationships across modules; SQLAlchemy resolves them by name
    from kuzet.models.accounts import User
    from kuzet.models.detection import Detection


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
    # Signing (Rule 9): the signed PDF is stored as evidence, content-addressed.
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_subject: Mapped[str | None] = mapped_column(Text)
    signer_cert_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    status_changed_at: Mapped[datetime | None]
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])


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
    # Re-checks after the notice was sent (Art. 41-1 §3-1: removal within six hours).
    recheck_status: Mapped[RecheckStatus | None] = mapped_column(_enum(RecheckStatus))
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    last_checked_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(default=0, server_default="0")
    # The capture that proves the last finding (removal, or still online).
    last_check_capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))

    notice: Mapped[Notice] = relationship(back_populates="facts")
    detections: Mapped[list[Detection]] = relationship(
        back_populates="notice_fact", order_by="Detection.id"
    )
