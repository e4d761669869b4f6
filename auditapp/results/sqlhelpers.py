"""Dialect-aware SQL expressions for grouping results by local calendar period.

Times are stored as naive UTC. A month or week is a period of the organisation's local calendar, so a visit at
23:30 UTC on 31 March belongs to April in Stockholm. PostgreSQL converts exactly with `AT TIME ZONE`. SQLite has
no time zones, so the local offset is computed in Python: it is constant between daylight-saving transitions, and
the expression picks the right offset for each row with a CASE over the (few) transitions inside the data's
range, then shifts the UTC time by it before formatting. That is exact, not a fixed-offset approximation.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from ..timeutil import zone

GRAINS = ("month", "week")


def _offset_seconds(tz_name: str, utc: datetime) -> int:
    aware = utc.replace(tzinfo=zone("UTC")).astimezone(zone(tz_name))
    return int(aware.utcoffset().total_seconds())


@lru_cache(maxsize=256)
def offset_segments(tz_name: str, start: datetime, end: datetime) -> tuple[tuple[datetime | None, int], ...]:
    """[(from_utc, offset_seconds)] covering [start, end]; the first entry has from_utc None (since forever).

    Offsets are sampled once a day and each change is narrowed to the minute by bisection; real transitions are
    on whole minutes, and no zone changes its offset twice within one day.
    """
    segments: list[tuple[datetime | None, int]] = [(None, _offset_seconds(tz_name, start))]
    day = timedelta(days=1)
    previous, current = start, start + day
    while True:
        current = min(current, end)
        offset = _offset_seconds(tz_name, current)
        if offset != segments[-1][1]:
            low, high = previous, current  # offset(low) is the old one, offset(high) the new one
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if _offset_seconds(tz_name, mid) == segments[-1][1]:
                    low = mid
                else:
                    high = mid
            high = high.replace(second=0, microsecond=0)
            if _offset_seconds(tz_name, high) != segments[-1][1]:
                segments.append((high, offset))
            else:
                segments.append((high + timedelta(minutes=1), offset))
        if current >= end:
            return tuple(segments)
        previous, current = current, current + day


def _sqlite_modifier(column, segments) -> ColumnElement:
    """The SQLite date modifier ('+3600 seconds') that turns the stored UTC time into local time."""
    def modifier(seconds: int) -> str:
        return f"{seconds:+d} seconds"

    if len(segments) == 1:
        return literal(modifier(segments[0][1]))
    # Newest transition first: most rows are recent, and CASE stops at the first match.
    whens = [(column >= since, modifier(seconds)) for since, seconds in reversed(segments[1:])]
    return case(*whens, else_=modifier(segments[0][1]))


def local_period_key(column, grain: str, tz_name: str, dialect: str, span: tuple[datetime, datetime]) -> ColumnElement:
    """SQL giving each row's local period as text: 'YYYY-MM' for months, the Monday 'YYYY-MM-DD' for weeks.

    `span` is the (min, max) UTC time of the rows grouped; on SQLite it bounds the transitions considered.
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    if dialect == "postgresql":
        local = func.timezone(tz_name, func.timezone("UTC", column))
        fmt = "YYYY-MM" if grain == "month" else "YYYY-MM-DD"
        return func.to_char(func.date_trunc(grain, local), fmt)
    if dialect == "sqlite":
        modifier = _sqlite_modifier(column, offset_segments(tz_name, span[0], span[1]))
        if grain == "month":
            return func.strftime("%Y-%m", column, modifier)
        # 'weekday 0' moves forward to Sunday (or stays), then back 6 days: the Monday that starts the ISO week.
        return func.strftime("%Y-%m-%d", column, modifier, "weekday 0", "-6 days")
    raise NotImplementedError(f"period grouping is written for SQLite and PostgreSQL, not {dialect}")


def period_key(day: date, grain: str) -> str:
    """The same key as local_period_key, for a local date computed in Python."""
    if grain == "month":
        return f"{day.year:04d}-{day.month:02d}"
    monday = day - timedelta(days=day.weekday())
    return monday.isoformat()


def period_start(key: str, grain: str) -> date:
    if grain == "month":
        year, month = key.split("-")
        return date(int(year), int(month), 1)
    return date.fromisoformat(key)


def next_period_start(start: date, grain: str) -> date:
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=7)


def period_label(key: str, grain: str) -> str:
    """'2026-03' for a month, the ISO week '2026-W11' for a week."""
    if grain == "month":
        return key
    year, week, _ = date.fromisoformat(key).isocalendar()
    return f"{year}-W{week:02d}"


def period_keys(first: date, last: date, grain: str) -> list[str]:
    """Every period key from the one holding `first` to the one holding `last`, gaps included."""
    keys = []
    current = period_start(period_key(first, grain), grain)
    while current <= last:
        keys.append(period_key(current, grain))
        current = next_period_start(current, grain)
    return keys
