"""Source schedules as written by monitors, and the APScheduler triggers they become."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MIN_INTERVAL = timedelta(minutes=1)


class ScheduleError(ValueError):
    pass


def parse(schedule: str) -> BaseTrigger:
    """``"*/30 * * * *"`` (cron, UTC) or ``"every 30m"`` (also s, h, d)."""
    text = " ".join(schedule.split())
    m = _EVERY.match(text)
    if m:
        delta = timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
        if delta < MIN_INTERVAL:
            raise ScheduleError(f"{schedule!r}: runs more than once a minute")
        return IntervalTrigger(seconds=int(delta.total_seconds()), timezone=UTC)
    if len(text.split()) != 5:
        raise ScheduleError(
            f'{schedule!r}: expected a cron line of five fields ("*/30 * * * *") '
            'or an interval ("every 30m", "every 6h")'
        )
    try:
        return CronTrigger.from_crontab(text, timezone=UTC)
    except ValueError as exc:
        raise ScheduleError(f"{schedule!r}: {exc}") from exc
