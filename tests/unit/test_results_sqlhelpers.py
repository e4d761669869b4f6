"""Local calendar periods: the SQL expression (SQLite, no app) and the Python helpers agree, across DST changes."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from auditapp.results.dashboard import change_text, interval_text, shown
from auditapp.results.sqlhelpers import (
    local_period_key,
    offset_segments,
    period_key,
    period_keys,
    period_label,
)
from auditapp.timeutil import to_local


def test_offset_segments_find_the_exact_transitions():
    segments = offset_segments("Europe/Stockholm", datetime(2025, 1, 1), datetime(2025, 12, 31))
    assert segments == ((None, 3600), (datetime(2025, 3, 30, 1, 0), 7200), (datetime(2025, 10, 26, 1, 0), 3600))
    assert offset_segments("UTC", datetime(2025, 1, 1), datetime(2026, 1, 1)) == ((None, 0),)
    # Southern hemisphere, half-hour zone.
    adelaide = offset_segments("Australia/Adelaide", datetime(2025, 1, 1), datetime(2025, 12, 31))
    assert [s for _, s in adelaide] == [37800, 34200, 37800]


ZONES = ["Europe/Stockholm", "America/New_York", "Australia/Adelaide", "Asia/Kolkata", "UTC"]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("grain", ["month", "week"])
def test_sql_period_key_matches_python_for_every_hour_around_transitions(tz, grain):
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime))
    meta.create_all(engine)
    times = []
    for start in (datetime(2025, 3, 28), datetime(2025, 3, 31, 12), datetime(2025, 10, 3), datetime(2025, 10, 24),
                  datetime(2025, 12, 31, 6), datetime(2025, 3, 29)):
        times += [start + timedelta(minutes=30 * i) for i in range(100)]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"at": t} for t in times])
        key = local_period_key(table.c.at, grain, tz, "sqlite", (min(times), max(times)))
        rows = conn.execute(sa.select(table.c.at, key)).all()
    assert len(rows) == len(times)
    for at, got in rows:
        assert got == period_key(to_local(at, tz).date(), grain), (at, tz)


def test_period_keys_and_labels():
    assert period_keys(date(2024, 11, 15), date(2025, 2, 1), "month") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert period_keys(date(2025, 1, 1), date(2025, 1, 13), "week") == ["2024-12-30", "2025-01-06", "2025-01-13"]
    assert period_label("2024-12-30", "week") == "2025-W01"  # ISO week of the Monday
    assert period_label("2025-03", "month") == "2025-03"
    with pytest.raises(ValueError):
        local_period_key(sa.column("at"), "day", "UTC", "sqlite", (datetime(2025, 1, 1), datetime(2025, 1, 2)))


def test_rounding_and_words_shown_on_the_dashboard():
    assert [shown(x) for x in (79.5, 80.49, 0.5, None)] == [80, 80, 1, None]
    assert interval_text(60.2, 79.6, 5) == "95% interval 60–80"
    assert interval_text(0, 100, 1) == "one score: no interval"
    assert change_text(-12.4, 84.0, 9) == ("▼ down 12 points (was 84, n=9)", "down")
    assert change_text(0.3, 84.0, 9) == ("No change (was 84, n=9)", "same")
    assert change_text(None, None, 0) == ("No earlier scores to compare", "none")
