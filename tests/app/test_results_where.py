"""Where it fails: item failure rates and failed critical items (grouped SQL), the dashboard's top section, the
drill-down's item table, and the trend's running period marked "so far" on frozen dates and in both zones."""
from __future__ import annotations

from datetime import timedelta

import pytest

from auditapp.results.queries import Filters
from auditapp.results.where import critical_fail_items, item_failures, most_failed
from auditapp.timeutil import utcnow
from tests.clock import in_org_zones, on_frozen_dates

from .test_results_pages import site  # noqa: F401 (the fixture)
from .test_results_queries import ALL_MAGICAL, ALL_MISERABLE, ANSWERS_A, ANSWERS_B


def _three(site):  # noqa: F811
    a = site.evaluate(ANSWERS_A)
    b = site.evaluate(ANSWERS_B)
    c = site.evaluate(ALL_MISERABLE)
    return a, b, c


def test_item_failure_rates_and_critical_items(site):  # noqa: F811
    a, b, c = _three(site)
    items = {(i.moment_key, i.question_key): i for i in item_failures(site.org, Filters(journey_id=site.journey.id))}
    greeted = items[("greeting", "greeted")]
    assert (greeted.n, greeted.failed, greeted.text) == (3, 2, "Were you greeted within 30 seconds?")
    clean = items[("order", "clean")]
    assert (clean.n, clean.failed, clean.critical) == (2, 1, True)
    smile = items[("greeting", "smile")]
    assert (smile.n, smile.failed) == (2, 1)  # B answered n/a: not counted; the rating of 1 fails
    assert most_failed(items.values())[0].question_key in {"greeted", "verdict"}
    assert all(i.n >= 3 for i in most_failed(items.values()))
    found = critical_fail_items(site.org, Filters(journey_id=site.journey.id), [a.id, b.id, c.id])
    assert found == {(b.id, "order"): ["Counter clean and tidy?"]}


def test_another_organisations_evaluations_are_not_named(site, make):  # noqa: F811
    _, b, _ = _three(site)
    other = make.org()
    assert critical_fail_items(other, Filters(journey_id=site.journey.id), [b.id]) == {}


def test_dashboard_says_where_at_the_top(client, site):  # noqa: F811
    for _ in range(3):
        site.evaluate(ALL_MISERABLE, location=site.south)
    site.evaluate(ALL_MAGICAL)
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    where = page.split('id="where"', 1)[1].split('id="moments"', 1)[0]
    assert page.index('id="where"') < page.index('id="moments"')  # at the top, above the moments
    assert "Weakest locations × moments" in where and "at least 3 scores" in where
    assert "at Airport" in where and "at Harbour" not in where  # Harbour has n = 1: left out
    assert "Most failed checklist items" in where and "75% failed</strong>: Were you greeted" in where
    assert f"/results/journeys/{site.journey.id}/evaluations?" in where and "location_id=" in where


def test_drilldown_lists_item_failures_and_which_critical_item_failed(client, site):  # noqa: F811
    _, b, _ = _three(site)
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}/evaluations?moment=order").get_data(as_text=True)
    assert "Checklist items: how often each failed" in page
    table = page.split('id="items-title"', 1)[1].split("</table>", 1)[0]
    assert "Counter clean and tidy?" in table and "Critical" in table and "50%" in table
    assert "Failed: Counter clean and tidy?" in page


@on_frozen_dates
@in_org_zones
def test_the_running_period_is_marked_so_far(client, site):  # noqa: F811
    site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=45))
    site.evaluate(ALL_MISERABLE, utcnow() - timedelta(minutes=1))  # today, local time, in every zone
    site.auth.login("boss@example.com")
    for grain in ("week", "month"):
        page = client.get(f"/results/journeys/{site.journey.id}?grain={grain}").get_data(as_text=True)
        trend = page.split('id="trend"', 1)[1].split("</section>", 1)[0]
        assert 'class="point so-far"' in trend and "so far, n=1" in trend, grain
        assert trend.count('class="point so-far"') == 1


def test_too_many_weeks_roll_up_to_months(client, site):  # noqa: F811
    site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=300))
    site.evaluate(ALL_MAGICAL)
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}?period=365d&grain=week").get_data(as_text=True)
    assert "Shown by month:" in page and "weeks are too many points to read" in page
    page = client.get(f"/results/journeys/{site.journey.id}?period=90d&grain=week").get_data(as_text=True)
    assert "Shown by month:" not in page


@pytest.mark.parametrize("width", [5, 9])
def test_heatmap_scroll_cue_and_weakest_column(client, site, width):  # noqa: F811
    site.evaluate(ANSWERS_A)
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    assert 'class="chart res-heatmap"' in page
    # The test journey has 3 moments: it fits a phone, so no cue; the attribute still names the weakest column.
    assert "Scroll sideways" not in page
