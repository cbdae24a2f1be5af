"""The custody log's chain head, its signed checkpoints, and the access log of views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kuzet.db import utcnow
from kuzet.models.base import Base

HEAD_ID = 1


class CustodyHead(Base):
    """The one row every append locks first: the chain's last entry and its counters.

    Appends of the custody log and of the access log update this row in the
    transaction that adds the entry, so they are serialized and the chain never forks.
    """

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)  # chain entries; the last one's seq
    last_id: Mapped[int | None]
    last_hash: Mapped[str] = mapped_column(String(64))
    # Entries from before signing began (unkeyed hash chain), sealed by checkpoint 1.
    legacy_count: Mapped[int] = mapped_column(default=0)
    access_count: Mapped[int] = mapped_column(default=0)  # access log rows; the last seq
    checkpoints: Mapped[int] = mapped_column(default=0)  # the last checkpoint's number


class CustodyCheckpoint(Base):
    """A signed statement of the chain head (and the access log so far) at a moment.

    Each is also appended to ``custody/checkpoints.jsonl`` outside the database, so
    entries removed from the end of the chain are noticed even if these rows go too.
    """

    __tablename__ = "custody_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)  # the checkpoint's number, 1, 2, ...
    at: Mapped[datetime] = mapped_column(default=utcnow)
    entry_id: Mapped[int | None]
    count: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    legacy_count: Mapped[int]
    access_count: Mapped[int]
    access_digest: Mapped[str] = mapped_column(String(64))
    prev_digest: Mapped[str] = mapped_column(String(64))  # the previous checkpoint's digest
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    # RFC 3161 reply over the signed body, when a TSA is configured; or why there is none.
    timestamp_reply: Mapped[bytes | None] = mapped_column(LargeBinary)
    timestamp_error: Mapped[str] = mapped_column(Text, default="")


class AccessLogEntry(Base):
    """A read-only view (a page, an evidence file): append-only, numbered, not chained
    per row; each checkpoint records the count and a digest of the rows since the last."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
