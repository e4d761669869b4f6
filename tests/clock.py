"""The clock in tests: every test runs on a frozen instant, and the date-sensitive ones on several.

Why: the app reads the time only through auditapp.timeutil (`utcnow()`, `local_today(tz)`), and much of what it
shows depends on today: period presets (30d, this_month, last_month), the dashboard's 90 days, comparison
windows, the default trend grain, visit windows (due, overdue), invite expiry, integrity flags (late, outside the
window), exports' generated time, backups' file names. A test that reads the real clock passes on the day it is
written and fails on some later day (the demo did).

How (tests/conftest.py wires this up):

- Every test runs with the clock frozen (time-machine, `tick=False`) at `DEFAULT_INSTANT`, set before any other
  fixture runs, so "an hour ago" in a factory, the SQLAlchemy `default=utcnow` columns and what the app calls
  today are the same on every run. In a test, `utcnow()` and `local_today(org.timezone)` from auditapp.timeutil
  give the frozen values; use them, never `date.today()` or `datetime.now()` (tests/unit/test_clock_guard.py
  fails on those: `date.today()` is the machine's zone, not the organisation's).
- `@on_frozen_dates` runs a test once on each instant of `FROZEN_INSTANTS`; `frozen_at` is the instant (a fixture,
  so a test can take it as an argument). Use it for anything whose answer depends on the date.
- `ORG_ZONES` / `@in_org_zones` for the timezone: `tz` is "UTC" or "Europe/Stockholm". Every instant is chosen
  near midnight UTC, so the local date in Stockholm is often not the UTC date.
- The `frozen_clock` fixture is time-machine's traveller: `frozen_clock.shift(timedelta(days=8))` moves the
  frozen clock on within a test (an invite expiring, a rate-limit window passing).
- `@pytest.mark.real_clock` opts a test out, for tests whose other side keeps the real clock: servers in other
  processes, a real browser. Tests marked `browser` or using the `live_server` fixture are opted out already.

Other suites import from here too: `from tests.clock import FROZEN_INSTANTS, on_frozen_dates`.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

# A plain mid-month day, late evening UTC: already the next day in Stockholm.
DEFAULT_INSTANT = datetime(2026, 6, 17, 23, 30, tzinfo=UTC)

# id -> instant (UTC). What each one is, in UTC and in Europe/Stockholm (CET +1, CEST +2):
FROZEN_INSTANTS: dict[str, datetime] = {
    # 31 Jan in UTC; already 1 Feb 00:30 in Stockholm.
    "2026-01-31_month_end": datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
    # 30 Apr in UTC (a 30-day month); already 1 May 00:30 in Stockholm (summer time).
    "2026-04-30_month_end": datetime(2026, 4, 30, 22, 30, tzinfo=UTC),
    # 31 Mar in UTC: "last month" is February, "last 30 days" starts on 2 March; 1 Apr 00:30 in Stockholm.
    "2027-03-31_after_february": datetime(2027, 3, 31, 22, 30, tzinfo=UTC),
    # Leap day in UTC; 1 Mar 00:30 in Stockholm, where last month had 29 days.
    "2028-02-29_leap_day": datetime(2028, 2, 29, 23, 30, tzinfo=UTC),
    # Stockholm 01:30 CET, half an hour before the clocks jump from 02:00 to 03:00 (the day has 23 hours).
    "2027-03-28_dst_spring": datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
    # Stockholm 02:30 CEST, the first pass of the hour that repeats when clocks go back at 03:00 (25 hours).
    "2026-10-25_dst_autumn": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    # New year's eve, 23:30 UTC, in ISO week 53 of 2026; already 1 Jan 2027 00:30 in Stockholm.
    "2026-12-31_new_years_eve": datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    # A plain day (the default instant).
    "2026-06-17_plain_day": DEFAULT_INSTANT,
}

ORG_ZONES = ("UTC", "Europe/Stockholm")

on_frozen_dates = pytest.mark.parametrize("frozen_at", list(FROZEN_INSTANTS.values()), ids=list(FROZEN_INSTANTS))
"""Run the test once on each of FROZEN_INSTANTS (overrides the frozen_at fixture, so the clock is set first)."""

in_org_zones = pytest.mark.parametrize("tz", ORG_ZONES)
"""Run the test for an organisation in UTC and one in Europe/Stockholm (the test takes `tz`)."""


def uses_real_clock(item: pytest.Item) -> bool:
    """Tests whose other side keeps the real clock: a browser, or servers in other processes."""
    return (item.get_closest_marker("real_clock") is not None or item.get_closest_marker("browser") is not None
            or "live_server" in getattr(item, "fixturenames", ()))
