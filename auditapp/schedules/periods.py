"""When a scheduled scorecard is due and which period it reports: pure date arithmetic, no Flask, no database.

A weekly schedule sends on `weekday` (0 = Monday) at `hour`, local time of the organisation, the previous full ISO
week (Monday to Sunday before the week of sending); a monthly one on `day` (1-28) at `hour`, the previous calendar
month. Local times are turned into UTC with the zone's rules of that day, so the hour stays the local hour across
daylight saving changes (a 02:30 that does not exist on the spring day is sent at 03:30 local; on the autumn day
the first 02:30 counts).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FREQUENCIES = ("weekly", "monthly")


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str  # the reported period: "2026-W24" or "2026-05"; one send per (schedule, key)
    send_at: datetime  # naive UTC
    date_from: date
    date_to: date  # inclusive


def _utc(day: date, hour: int, tz: str) -> datetime:
    local = datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz or "UTC"))
    return local.astimezone(UTC).replace(tzinfo=None)


def _month_back(day: date) -> date:
    first = day.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def occurrence_on(send_day: date, frequency: str, hour: int, tz: str) -> Occurrence:
    if frequency == "weekly":
        monday = send_day - timedelta(days=send_day.weekday() + 7)
        year, week, _ = monday.isocalendar()
        return Occurrence(f"{year}-W{week:02d}", _utc(send_day, hour, tz), monday, monday + timedelta(days=6))
    start = _month_back(send_day)
    end = send_day.replace(day=1) - timedelta(days=1)
    return Occurrence(f"{start:%Y-%m}", _utc(send_day, hour, tz), start, end)


def due_occurrences(now: datetime, frequency: str, *, weekday: int = 0, day: int = 1, hour: int = 7,
                    tz: str = "UTC", back: int = 2) -> list[Occurrence]:
    """The `back` latest occurrences whose send time is at or before `now` (naive UTC), newest first."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    local_today = now.replace(tzinfo=UTC).astimezone(ZoneInfo(tz or "UTC")).date()
    if frequency == "weekly":
        candidate = local_today - timedelta(days=(local_today.weekday() - weekday) % 7)
        step = lambda d: d - timedelta(days=7)  # noqa: E731
    else:
        candidate = local_today.replace(day=day) if local_today.day >= day else _month_back(local_today).replace(day=day)
        step = lambda d: _month_back(d).replace(day=day)  # noqa: E731
    found = []
    while len(found) < back:
        occurrence = occurrence_on(candidate, frequency, hour, tz)
        if occurrence.send_at <= now:
            found.append(occurrence)
        candidate = step(candidate)
    return found
