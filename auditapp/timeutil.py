"""Time helpers: everything is stored as naive UTC; shown in the organisation's time zone."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    """Naive UTC, the form stored in the database (SQLite keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day_bounds(day_from: date | None, day_to: date | None, tz_name: str | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive local dates -> half-open naive-UTC datetimes [start, end)."""
    tz = zone(tz_name)
    start = end = None
    # A bound at the very edge of the calendar (year 1, year 9999) cannot be shifted to UTC: it means "no bound".
    if day_from:
        try:
            start = to_naive_utc(datetime.combine(day_from, time.min, tzinfo=tz))
        except OverflowError:
            start = None
    if day_to:
        try:
            end = to_naive_utc(datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=tz))
        except OverflowError:
            end = None
    return start, end


def to_local(value: datetime | None, tz_name: str | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(zone(tz_name))


def local_today(tz_name: str | None) -> date:
    return datetime.now(zone(tz_name)).date()
