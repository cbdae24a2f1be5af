"""Declarative base and column helpers shared by every model."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
)
from sqlalchemy.orm import DeclarativeBase

from kuzet.db import UTCDateTime


class Base(DeclarativeBase):
    # SQLAlchemy reads this mapping off the class; it is never mutated.
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the readable value, not the member name, and never a native DB enum
    # type, so adding a state is a plain migration on every backend.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
