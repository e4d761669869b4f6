"""What 'today' means on awkward dates: presets, comparison windows, trend grain and weeks, visit windows.

Each test runs on every instant of tests/clock.py (month ends, 31 March, 29 Feb, both daylight-saving changes,
new year's eve, a plain day) for an organisation in UTC and one in Stockholm, with nothing passed as `today`:
the code reads the frozen clock through auditapp.timeutil as it does in production. The expected dates are
worked out here with the calendar module and zoneinfo, not with the code under test.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from auditapp.results.queries import comparison_for, default_grain, filters_from_args
from auditapp.results.sqlhelpers import period_key, period_label
from auditapp.timeutil import local_day_bounds, local_today, utcnow
from auditapp.visits.services import is_overdue
from tests.clock import FROZEN_INSTANTS, in_org_zones, on_frozen_dates

NAMES = {instant: name for name, instant in FROZEN_INSTANTS.items()}


def org_today(frozen_at: datetime, tz: str) -> date:
    return frozen_at.astimezone(ZoneInfo(tz)).date()


def previous_month(day: date) -> tuple[date, date]:
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def preset(period: str, tz: str):
    f = filters_from_args({"journey_id": "1", "period": period}, SimpleNamespace(timezone=tz))
    return f.date_from, f.date_to


# Worked out by hand for the instants where a mistake would show.
EXPECTED_LAST_MONTH = {
    ("2026-12-31_new_years_eve", "UTC"): (date(2026, 11, 1), date(2026, 11, 30)),
    ("2026-12-31_new_years_eve", "Europe/Stockholm"): (date(2026, 12, 1), date(2026, 12, 31)),  # already 1 Jan
    ("2027-03-31_after_february", "UTC"): (date(2027, 2, 1), date(2027, 2, 28)),
    ("2028-02-29_leap_day", "Europe/Stockholm"): (date(2028, 2, 1), date(2028, 2, 29)),  # already 1 March
    ("2026-01-31_month_end", "Europe/Stockholm"): (date(2026, 1, 1), date(2026, 1, 31)),  # already 1 Feb
}


@on_frozen_dates
@in_org_zones
def test_the_clock_is_frozen_where_tests_clock_says(frozen_at, tz):
    assert utcnow() == frozen_at.replace(tzinfo=None)
    assert local_today(tz) == org_today(frozen_at, tz)


@on_frozen_dates
@in_org_zones
def test_period_presets_are_the_organisations_calendar(frozen_at, tz):
    today = org_today(frozen_at, tz)
    assert preset("30d", tz) == (today - timedelta(days=29), today)
    assert preset("90d", tz) == (today - timedelta(days=89), today)
    assert preset("365d", tz) == (today - timedelta(days=364), today)
    assert preset("this_month", tz) == (date(today.year, today.month, 1), today)
    assert preset("last_month", tz) == previous_month(today)
    assert preset("all", tz) == (None, None)
    expected = EXPECTED_LAST_MONTH.get((NAMES[frozen_at], tz))
    if expected:
        assert preset("last_month", tz) == expected


@on_frozen_dates
@in_org_zones
def test_local_today_spans_the_local_day_in_utc(frozen_at, tz):
    """The 23-hour and 25-hour days of the clock changes are whole local days, and now is inside today."""
    today = local_today(tz)
    start, end = local_day_bounds(today, today, tz)
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo(tz))
    length = (midnight + timedelta(days=1)).astimezone(ZoneInfo("UTC")) - midnight.astimezone(ZoneInfo("UTC"))
    assert end - start == length
    assert start <= utcnow() < end
    if (NAMES[frozen_at], tz) == ("2027-03-28_dst_spring", "Europe/Stockholm"):
        assert end - start == timedelta(hours=23)
    if (NAMES[frozen_at], tz) == ("2026-10-25_dst_autumn", "Europe/Stockholm"):
        assert end - start == timedelta(hours=25)


@on_frozen_dates
@in_org_zones
def test_comparison_windows_follow_today(frozen_at, tz):
    today = org_today(frozen_at, tz)
    open_ended = comparison_for(filters_from_args({"journey_id": "1", "period": "all"}, SimpleNamespace(timezone=tz)), today)
    assert open_ended.current.date_from == today - timedelta(days=29) and open_ended.current.date_to is None
    assert (open_ended.previous.date_from, open_ended.previous.date_to) == (today - timedelta(days=59), today - timedelta(days=30))
    # This month so far against as many days just before it: on the 1st, one day against the last day of last month.
    this_month = comparison_for(filters_from_args({"journey_id": "1", "period": "this_month"}, SimpleNamespace(timezone=tz)), today)
    days = today.day
    assert this_month.previous.date_to == date(today.year, today.month, 1) - timedelta(days=1)
    assert (this_month.previous.date_to - this_month.previous.date_from).days + 1 == days


@on_frozen_dates
@in_org_zones
def test_default_trend_grain(frozen_at, tz):
    today = org_today(frozen_at, tz)
    org = SimpleNamespace(timezone=tz)
    for period, grain in (("30d", "week"), ("90d", "week"), ("this_month", "week"), ("last_month", "week"),
                          ("365d", "month"), ("all", "month")):
        assert default_grain(filters_from_args({"journey_id": "1", "period": period}, org), today) == grain, period


@on_frozen_dates
@in_org_zones
def test_the_week_holding_today_has_todays_iso_week(frozen_at, tz):
    today = local_today(tz)
    year, week, _ = today.isocalendar()
    assert period_label(period_key(today, "week"), "week") == f"{year}-W{week:02d}"
    if (NAMES[frozen_at], tz) == ("2026-12-31_new_years_eve", "Europe/Stockholm"):
        assert period_key(today, "week") == "2026-12-28"  # Friday 1 Jan 2027 is in the week of Monday 28 Dec
        assert period_label("2026-12-28", "week") == "2026-W53"


@on_frozen_dates
@in_org_zones
def test_a_visit_is_overdue_from_the_day_after_its_window(frozen_at, tz):
    today = local_today(tz)

    def visit(end: date):
        return SimpleNamespace(status="scheduled", window_start=end - timedelta(days=7), window_end=end)

    assert not is_overdue(visit(today), today)
    assert is_overdue(visit(today - timedelta(days=1)), today)
    assert not is_overdue(SimpleNamespace(status="submitted", window_end=today - timedelta(days=1)), today)


@pytest.mark.real_clock
def test_a_real_clock_test_sees_time_pass():
    """The opt-out works: under real_clock nothing is frozen."""
    import time

    first = utcnow()
    time.sleep(0.002)
    assert utcnow() > first
