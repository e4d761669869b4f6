"""The dashboard page computes its sections from shared scans (queries.dashboard): every number must be what the
section functions give one by one, for every source, status, period and place filter, and it runs fewer queries."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event

from auditapp.extensions import db
from auditapp.places import PlaceScope
from auditapp.results import queries

from .test_results_queries import ALL_MISERABLE, world  # noqa: F401  (the fixture)

VERDICTS = ("magical", "neutral", "miserable")


@pytest.fixture
def varied(world):  # noqa: F811
    rng = random.Random(4)
    staff = world.make.user(world.org, "staff", location=world.north)
    end = datetime(2025, 6, 30, 12)
    for i in range(40):
        when = end - timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 23))
        answers = {"greeting.verdict": rng.choice(VERDICTS), "order.verdict": rng.choice(VERDICTS),
                   "farewell.verdict": (rng.choice(VERDICTS), "Lovely goodbye" if i % 3 == 0 else "")}
        if i % 7 == 0:
            answers = {**ALL_MISERABLE}
        status = ("approved", "submitted", "returned", "rejected")[i % 4]
        location = world.north if i % 2 else world.south
        if i % 5 == 0:
            world.make.evaluation(world.org, world.journey, world.north, staff, answers, started_at=when,
                                  status=status)
        else:
            world.evaluate(answers, when, location=location, status=status)
    return world


def _separately(org, filters, grain, today):
    return queries.Dashboard(
        scorecard=queries.scorecard(org, filters, today=today), heatmap=queries.heatmap(org, filters),
        trend=queries.trend(org, filters, grain), gap=queries.perception_gap(org, filters),
        beside=queries.other_source_headline(org, filters), praise=queries.magical_moments(org, filters))


def _close(a, b, path="") -> None:
    """Equal, floats to 1e-9 (sums may add up in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-9), path
    elif hasattr(a, "__dataclass_fields__"):
        assert type(a) is type(b), path
        for name in a.__dataclass_fields__:
            _close(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.parametrize("source", ["shopper", "staff", None])
@pytest.mark.parametrize("window", ["all", "month", "to"])
def test_shared_scans_give_every_section_the_same_numbers(varied, source, window):
    today = date(2025, 6, 30)
    dates = {"all": (None, None), "month": (date(2025, 5, 1), date(2025, 5, 31)), "to": (None, date(2025, 6, 15))}
    for status in ("counted", "approved"):
        filters = queries.Filters(varied.journey.id, source=source, status=status,
                                  date_from=dates[window][0], date_to=dates[window][1])
        for grain in ("month", "week"):
            _close(_separately(varied.org, filters, grain, today),
                   queries.dashboard(varied.org, filters, grain, today=today))


def test_shared_scans_for_a_location_a_region_and_a_place_scoped_viewer(varied):
    today = date(2025, 6, 30)
    base = queries.Filters(varied.journey.id)
    scope = PlaceScope("location_manager", frozenset({varied.north.id}), frozenset({"North"}))
    for filters in (replace(base, location_id=varied.south.id), replace(base, region="North"),
                    replace(base, places=scope.location_ids, status="approved")):
        _close(_separately(varied.org, filters, "month", today), queries.dashboard(varied.org, filters, "month",
                                                                                   today=today))


def test_the_dashboard_runs_fewer_queries_than_its_sections_one_by_one(varied):
    filters = queries.Filters(varied.journey.id)
    today = date(2025, 6, 30)

    def count(fn):
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            fn()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return [s for s in seen if "moment_result" in s or "evaluation" in s]

    one_by_one = count(lambda: _separately(varied.org, filters, "month", today))
    shared = count(lambda: queries.dashboard(varied.org, filters, "month", today=today))
    scans = [s for s in shared if "moment_result" in s]
    assert len(shared) < len(one_by_one)
    # One scan gives the scorecard's moments, the gap, the heatmap's cells, the trend's cells and the magical counts;
    # the praise notes have their own.
    assert len(scans) == len([s for s in one_by_one if "moment_result" in s]) - 4 == 2
