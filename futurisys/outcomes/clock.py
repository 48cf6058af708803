"""The one place the outcome logic reads "now" from: tests pass their own instant instead of sleeping."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC)


def shift_months(moment, months: int):
    """`moment` (date or datetime) moved by `months` calendar months, the day clamped to the month's last."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime (SQLite gives naive UTC datetimes back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def month_start(moment: datetime) -> date:
    """The first day of `moment`'s month (UTC)."""
    return as_utc(moment).date().replace(day=1)
