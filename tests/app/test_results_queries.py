"""Result numbers (auditapp.results.queries) against hand-computed expectations, contract section 3.

Evaluations go through the real submission service (make.evaluation), so weights, N/A, critical questions and
the per-evaluation scores are those the product stores; the aggregates are then checked by hand.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from auditapp.extensions import db
from auditapp.results import queries
from auditapp.results.queries import FilterError, Filters, filters_from_args


def approx(value):
    return pytest.approx(value, abs=1e-9)


# Sample journey (tests.factories.sample_spec): greeting (weight 2, priority): greeted yes_no, smile rating (w 2),
# verdict; order (priority): wait number <=120, speed choice Quick=1/Slow=0/Did not notice=none, clean yes_no
# critical, verdict; farewell: mood mnm, comment text, receipt photo, verdict. Every verdict weighs 1.
ANSWERS_A = {  # greeting 100; order (0 + 1 + 1 + .5) / 4 = 62.5; farewell mood n/a, verdict 0 -> 0
    "greeting.greeted": "yes", "greeting.smile": 5, "greeting.verdict": "magical",
    "order.wait": 200, "order.speed": "Quick", "order.clean": "yes", "order.verdict": "neutral",
    "farewell.mood": "na", "farewell.verdict": "miserable",
}
ANSWERS_B = {  # greeting (0 + .5) / 2 = 25 (smile n/a); order: critical "clean" no -> 0 and a fail; farewell 100
    "greeting.greeted": "no", "greeting.smile": "na", "greeting.verdict": "neutral",
    "order.clean": "no", "order.verdict": "miserable",
    "farewell.mood": "magical", "farewell.verdict": "magical",
}
ANSWERS_C = {  # greeting (1 + 2*.5 + .5) / 4 = 62.5; order: unscored option, wait n/a -> verdict only, 100; farewell 50
    "greeting.greeted": "yes", "greeting.smile": 3, "greeting.verdict": "neutral",
    "order.wait": "na", "order.speed": "Did not notice", "order.verdict": "magical",
    "farewell.verdict": "neutral",
}
ALL_MAGICAL = {"greeting.smile": 5, "greeting.verdict": "magical", "order.clean": "yes", "order.verdict": "magical",
               "farewell.mood": "magical", "farewell.verdict": "magical"}
ALL_MISERABLE = {"greeting.greeted": "no", "greeting.smile": 1, "greeting.verdict": "miserable",
                 "order.verdict": "miserable", "farewell.verdict": "miserable"}


@pytest.fixture
def world(make):
    org = make.org(timezone="Europe/Stockholm")
    admin = make.user(org, "admin")
    north = make.location(org, name="Harbour", region="North")
    south = make.location(org, name="Airport", region="South")
    journey = make.journey(org)

    class World:
        pass

    w = World()
    w.org, w.admin, w.north, w.south, w.journey, w.make = org, admin, north, south, journey, make

    def evaluate(answers, when, *, location=None, source="shopper", **kw):
        return make.evaluation(org, journey, location or north, admin, answers, source=source, started_at=when, **kw)

    w.evaluate = evaluate
    return w


def test_scorecard_matches_hand_computed_numbers(world):
    a = world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    b = world.evaluate(ANSWERS_B, datetime(2025, 1, 11, 10))
    c = world.evaluate(ANSWERS_C, datetime(2025, 1, 12, 10))
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 13, 10), status="rejected")  # never counts

    # Evaluation scores: sum(W*m)/sum(W) with greeting weighing 2.
    assert a.score == approx((2 * 100 + 62.5 + 0) / 4)
    assert b.score == approx((2 * 25 + 0 + 100) / 4)
    assert c.score == approx((2 * 62.5 + 100 + 50) / 4)

    card = queries.scorecard(world.org, Filters(world.journey.id), today=date(2025, 1, 20))
    assert card.evaluations == 3
    assert card.score == approx((65.625 + 37.5 + 68.75) / 3)
    assert card.estimate.n == 3
    assert card.estimate.low < card.score < card.estimate.high
    # Peak-end: (first + worst + last) / 3 per evaluation, then the mean.
    assert card.remembered_score == approx(((100 + 0 + 0) / 3 + (25 + 0 + 100) / 3 + (62.5 + 50 + 50) / 3) / 3)

    assert [m.key for m in card.moments] == ["greeting", "order", "farewell"]
    greeting, order, farewell = card.moments
    assert (greeting.n, greeting.score) == (3, approx((100 + 25 + 62.5) / 3))
    assert (greeting.magical, greeting.neutral, greeting.miserable, greeting.critical_fails) == (1, 2, 0, 0)
    assert (order.n, order.score) == (3, approx((62.5 + 0 + 100) / 3))
    assert (order.magical, order.neutral, order.miserable, order.critical_fails) == (1, 1, 1, 1)
    assert (farewell.n, farewell.score) == (3, approx(50.0))
    assert (farewell.magical, farewell.neutral, farewell.miserable) == (1, 1, 1)
    assert greeting.priority and order.priority and not farewell.priority
    assert greeting.name == "Greeting at the door" and greeting.channel == "face_to_face"
    assert greeting.low <= greeting.score <= greeting.high
    # The weakest priority moment is "order" (54.2 < 62.5); farewell (50) is weaker but not a priority.
    assert card.weakest_priority.key == "order"
    assert card.weakest.key == "farewell"


def test_durations_are_averaged_over_the_evaluations_that_timed_them(world):
    world.evaluate({}, datetime(2025, 1, 10, 10), durations={"greeting": 20, "order": 100})
    world.evaluate({}, datetime(2025, 1, 11, 10), durations={"greeting": 50})
    world.evaluate({}, datetime(2025, 1, 12, 10))
    card = queries.scorecard(world.org, Filters(world.journey.id))
    greeting, order, farewell = card.moments
    assert (greeting.mean_duration, greeting.duration_n, greeting.expected_seconds) == (35.0, 2, 30)
    assert greeting.duration_over == 5.0
    assert (order.mean_duration, order.duration_n) == (100.0, 1)
    assert (farewell.mean_duration, farewell.duration_n) == (None, 0)


def test_period_boundaries_are_inclusive_local_dates(world):
    # Stockholm is UTC+1 until 30 March 2025, then UTC+2.
    inside = [datetime(2025, 2, 28, 23, 30),  # 1 March 00:30 local
              datetime(2025, 3, 31, 21, 59)]  # 31 March 23:59 local (summer time)
    outside = [datetime(2025, 2, 28, 22, 59),  # 28 February 23:59 local
               datetime(2025, 3, 31, 22, 0)]  # 1 April 00:00 local
    for when in inside:
        world.evaluate(ALL_MAGICAL, when)
    for when in outside:
        world.evaluate(ALL_MISERABLE, when)
    filters = Filters(world.journey.id, date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    card = queries.scorecard(world.org, filters)
    assert card.evaluations == 2
    assert card.score == approx(100.0)
    only_to = queries.scorecard(world.org, Filters(world.journey.id, date_to=date(2025, 3, 31)))
    assert only_to.evaluations == 3
    only_from = queries.scorecard(world.org, Filters(world.journey.id, date_from=date(2025, 3, 1)))
    assert only_from.evaluations == 3


def test_source_and_region_and_location_filters(world):
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 10), location=world.north, source="staff")
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 10), location=world.north, source="shopper")
    world.evaluate(ANSWERS_C, datetime(2025, 1, 10), location=world.south, source="shopper")
    journey_id = world.journey.id
    assert queries.scorecard(world.org, Filters(journey_id)).evaluations == 2  # secret shoppers unless told
    assert queries.scorecard(world.org, Filters(journey_id, source=None)).evaluations == 3  # "all"
    staff = queries.scorecard(world.org, Filters(journey_id, source="staff"))
    assert (staff.evaluations, staff.score) == (1, approx(100.0))
    shoppers = queries.scorecard(world.org, Filters(journey_id, source="shopper"))
    assert shoppers.evaluations == 2
    assert shoppers.score == approx((0 + 68.75) / 2)
    south = queries.scorecard(world.org, Filters(journey_id, region="South", source=None))
    assert (south.evaluations, south.score) == (1, approx(68.75))
    north_shop = queries.scorecard(world.org, Filters(journey_id, location_id=world.north.id, source="shopper"))
    assert (north_shop.evaluations, north_shop.score) == (1, approx(0.0))


def test_status_filter_approved_only_or_all_that_count(world):
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 10), status="approved")
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 11))  # waiting for review
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 12), status="returned")
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 13), status="rejected")  # never counts
    journey_id = world.journey.id
    counted = queries.scorecard(world.org, Filters(journey_id))
    assert counted.filters.status == "counted" and counted.evaluations == 3
    approved = queries.scorecard(world.org, Filters(journey_id, status="approved"))
    assert (approved.evaluations, approved.score) == (1, approx(100.0))
    parsed = queries.filters_from_args({"status": "approved", "source": "all"}, world.org, journey_id=journey_id)
    assert (parsed.status, parsed.source, parsed.source_key) == ("approved", None, "all")
    assert parsed.describe() == [("Evaluations by", "Shoppers and staff"), ("Status", "Approved only")]
    with pytest.raises(queries.FilterError) as error:
        queries.filters_from_args({"status": "rejected", "source": "robots"}, world.org, journey_id=journey_id)
    assert {e["field"] for e in error.value.errors} == {"status", "source"}


def test_low_n_moments_are_left_out_of_rankings(world):
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 10))
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 11))
    card = queries.scorecard(world.org, Filters(world.journey.id))
    assert all(m.n == 2 and m.low_n for m in card.moments)
    assert card.weakest_priority is None and card.weakest is None
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 12))
    card = queries.scorecard(world.org, Filters(world.journey.id))
    assert not any(m.low_n for m in card.moments)
    assert card.weakest_priority is not None


def test_two_evaluations_never_raise_a_warning(world):
    world.evaluate(ALL_MAGICAL, datetime(2025, 2, 5))  # previous period
    world.evaluate(ALL_MISERABLE, datetime(2025, 3, 5))  # this period: 100 -> 0
    filters = Filters(world.journey.id, date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    card = queries.scorecard(world.org, filters)
    greeting = card.moment("greeting")
    assert greeting.previous_score == approx(100.0) and greeting.score == approx(0.0)
    assert greeting.change == approx(-100.0)
    assert not greeting.signal.flagged
    assert not card.signal.flagged


def test_a_clear_drop_raises_a_warning_on_that_moment_only(world):
    # March has 31 days, so the previous period is the 31 days from 29 January to 28 February.
    for day in range(1, 7):
        world.evaluate({**ALL_MAGICAL, "greeting.smile": 4 + day % 2}, datetime(2025, 2, 1 + day * 3, 12))
    for day in range(1, 7):
        world.evaluate({**ALL_MAGICAL, "greeting.greeted": "no", "greeting.smile": 1 + day % 2,
                        "greeting.verdict": "miserable"}, datetime(2025, 3, day * 4, 12))
    filters = Filters(world.journey.id, date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    card = queries.scorecard(world.org, filters)
    assert card.comparison.previous == queries.Window(date(2025, 1, 29), date(2025, 2, 28))
    greeting = card.moment("greeting")
    assert (greeting.n, greeting.previous_n) == (6, 6)
    assert greeting.signal.flagged and greeting.signal.direction == "down"
    assert greeting.change < -50
    assert not card.moment("farewell").signal.flagged  # unchanged: all magical both times


def test_open_period_compares_the_last_30_days_with_the_30_before(world):
    world.evaluate(ALL_MAGICAL, datetime(2024, 12, 1))  # older: counted, not compared
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 15))  # previous 30 days
    world.evaluate(ALL_MISERABLE, datetime(2025, 2, 20))  # last 30 days
    card = queries.scorecard(world.org, Filters(world.journey.id), today=date(2025, 3, 1))
    assert card.evaluations == 3
    assert card.comparison.current.date_from == date(2025, 1, 31)
    assert card.comparison.previous == queries.Window(date(2025, 1, 1), date(2025, 1, 30))
    greeting = card.moment("greeting")
    assert greeting.n == 3 and greeting.previous_n == 1 and greeting.change == approx(-100.0)


def test_heatmap_cells_per_location_and_moment(world):
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10), location=world.north)
    world.evaluate(ANSWERS_B, datetime(2025, 1, 11), location=world.north)
    world.evaluate(ANSWERS_C, datetime(2025, 1, 12), location=world.south)
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 12), location=world.south, status="rejected")
    heat = queries.heatmap(world.org, Filters(world.journey.id))
    assert [loc.name for loc in heat.locations] == ["Airport", "Harbour"]
    assert heat.cell(world.north.id, "greeting") == queries.Cell(2, approx((100 + 25) / 2))
    assert heat.cell(world.north.id, "order") == queries.Cell(2, approx(31.25))
    assert heat.cell(world.south.id, "farewell") == queries.Cell(1, approx(50.0))
    assert heat.totals[world.north.id].score == approx((65.625 + 37.5) / 2)
    assert heat.evaluations == {world.north.id: 2, world.south.id: 1}


def test_trend_buckets_by_local_month_and_week(world):
    world.evaluate(ALL_MAGICAL, datetime(2025, 3, 31, 21, 59))  # 31 March local (summer time)
    world.evaluate(ALL_MISERABLE, datetime(2025, 3, 31, 22, 30))  # 1 April 00:30 local
    world.evaluate(ANSWERS_C, datetime(2025, 1, 5, 23, 30))  # 6 Jan 00:30 local, a Monday: week of 6 Jan
    monthly = queries.trend(world.org, Filters(world.journey.id), grain="month")
    assert [p.key for p in monthly.periods] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert monthly.cell("2025-03", "greeting") == queries.Cell(1, approx(100.0))
    assert monthly.cell("2025-04", "greeting") == queries.Cell(1, approx(0.0))
    assert monthly.cell("2025-02", "greeting") == queries.Cell(0, None)
    assert monthly.overall["2025-01"].score == approx(68.75)
    weekly = queries.trend(world.org, Filters(world.journey.id, date_from=date(2025, 3, 24)), grain="week")
    assert [p.key for p in weekly.periods] == ["2025-03-24", "2025-03-31"]
    assert [p.label for p in weekly.periods] == ["2025-W13", "2025-W14"]
    assert weekly.cell("2025-03-31", "greeting").n == 2
    january = queries.trend(world.org, Filters(world.journey.id, date_to=date(2025, 1, 31)), grain="week")
    assert january.periods[0].key == "2025-01-06"


def test_perception_gap_flags_staff_rating_themselves_higher(world):
    for day in (1, 2, 3):
        world.evaluate(ALL_MAGICAL, datetime(2025, 1, day), source="staff")
        world.evaluate({**ALL_MAGICAL, "greeting.greeted": "no", "greeting.smile": 1,
                        "greeting.verdict": "miserable"}, datetime(2025, 1, day), source="shopper")
    rows = {row.key: row for row in queries.perception_gap(world.org, Filters(world.journey.id, source="staff"))}
    assert rows["greeting"].staff.mean == approx(100.0)
    assert rows["greeting"].shopper.mean == approx(0.0)
    assert rows["greeting"].gap == approx(100.0) and rows["greeting"].flagged
    assert rows["farewell"].gap == approx(0.0) and not rows["farewell"].flagged


def test_perception_gap_needs_three_on_each_side(world):
    for day in (1, 2, 3):
        world.evaluate(ALL_MAGICAL, datetime(2025, 1, day), source="staff")
    for day in (1, 2):
        world.evaluate(ALL_MISERABLE, datetime(2025, 1, day), source="shopper")
    rows = {row.key: row for row in queries.perception_gap(world.org, Filters(world.journey.id))}
    assert rows["greeting"].gap == approx(100.0)
    assert not rows["greeting"].flagged


def test_magical_moments_per_location_with_notes(world):
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 1), moment_notes={"greeting": "Remembered my name"})
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 2), moment_notes={"greeting": "Warm smile"})
    world.evaluate(ALL_MISERABLE, datetime(2025, 1, 3), moment_notes={"greeting": "Ignored me"})
    praise = queries.magical_moments(world.org, Filters(world.journey.id))
    assert [p.location.name for p in praise] == ["Harbour"]
    greeting = next(m for m in praise[0].moments if m.key == "greeting")
    assert (greeting.magical, greeting.verdicts) == (2, 3)
    assert [n.text for n in greeting.notes] == ["Warm smile", "Remembered my name"]


def test_drilldown_lists_evaluations_newest_first_with_notes(world):
    old = world.evaluate({**ALL_MAGICAL, "farewell.comment": "Said goodbye by name"}, datetime(2025, 1, 1),
                         moment_notes={"order": "Quick"})
    new = world.evaluate({**ALL_MISERABLE, "order.clean": ("no", "Sticky counter")}, datetime(2025, 1, 5),
                         location=world.south)
    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 6), status="rejected")
    drill = queries.drilldown(world.org, Filters(world.journey.id), moment_key="order")
    assert drill.total == 2
    assert [item.evaluation_id for item in drill.items] == [new.id, old.id]
    assert drill.items[0].critical_fail and drill.items[0].moment_score == 0
    assert [n.text for n in drill.items[0].answer_notes] == ["Sticky counter"]
    assert drill.items[1].moment_note == "Quick"
    only_south = queries.drilldown(world.org, Filters(world.journey.id), moment_key="order", location_id=world.south.id)
    assert [item.evaluation_id for item in only_south.items] == [new.id]
    everything = queries.drilldown(world.org, Filters(world.journey.id))
    assert [n.text for n in everything.items[1].answer_notes] == ["Said goodbye by name"]


def test_another_organisations_journey_is_not_found(world, make):
    other = make.org()
    with pytest.raises(queries.NotFound):
        queries.scorecard(other, Filters(world.journey.id))


def test_filters_from_args_parses_and_reports_every_bad_field(world):
    org = world.org
    f = filters_from_args({"journey_id": str(world.journey.id), "location_id": str(world.north.id), "region": "North",
                           "from": "2025-01-01", "to": "2025-01-31", "source": "staff"}, org)
    assert f == Filters(world.journey.id, world.north.id, "North", date(2025, 1, 1), date(2025, 1, 31), "staff")
    assert filters_from_args({"journey_id": "5", "source": "all"}, org).source is None
    with pytest.raises(FilterError) as caught:
        filters_from_args({"journey_id": "x", "from": "2025-13-01", "to": "yesterday", "source": "robot",
                           "region": "Atlantis", "location_id": "999999"}, org)
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"journey_id", "from", "to", "source", "region", "location_id"}
    with pytest.raises(FilterError) as caught:
        filters_from_args({"journey_id": "1", "from": "2025-02-01", "to": "2025-01-01"}, org)
    assert caught.value.field == "to"
    with pytest.raises(FilterError) as caught:
        filters_from_args({}, org)
    assert caught.value.errors == [{"field": "journey_id", "message": "is required"}]


def test_filters_from_args_rejects_another_organisations_location(world, make):
    other = make.org()
    foreign = make.location(other, region="Elsewhere")
    with pytest.raises(FilterError) as caught:
        filters_from_args({"journey_id": "1", "location_id": str(foreign.id), "region": "Elsewhere"}, world.org)
    assert {e["field"] for e in caught.value.errors} == {"location_id", "region"}


def test_period_presets_use_the_organisations_today(world):
    f = filters_from_args({"journey_id": "1", "period": "30d", "from": "2000-01-01"}, world.org, today=date(2025, 3, 31))
    assert (f.date_from, f.date_to, f.period) == (date(2025, 3, 2), date(2025, 3, 31), "30d")
    f = filters_from_args({"journey_id": "1", "period": "last_month"}, world.org, today=date(2025, 3, 15))
    assert (f.date_from, f.date_to) == (date(2025, 2, 1), date(2025, 2, 28))
    f = filters_from_args({"journey_id": "1", "period": "custom", "from": "2025-01-01"}, world.org)
    assert (f.date_from, f.date_to) == (date(2025, 1, 1), None)
    assert filters_from_args({"journey_id": "1", "period": "all"}, world.org).date_from is None


def test_retired_moments_come_last_and_marked(world):
    from auditapp.journeys.models import Moment

    world.evaluate(ALL_MAGICAL, datetime(2025, 1, 1))
    # A new current version without "farewell": results for it stay, after the current moments.
    farewell = db.session.scalar(db.select(Moment).where(Moment.version_id == world.journey.current_version_id,
                                                         Moment.key == "farewell"))
    farewell.key = "goodbye"
    farewell.name = "Goodbye"
    db.session.commit()
    card = queries.scorecard(world.org, Filters(world.journey.id))
    assert [(m.key, m.retired) for m in card.moments] == [("greeting", False), ("order", False), ("goodbye", False),
                                                          ("farewell", True)]
    assert card.moment("goodbye").n == 0 and card.moment("farewell").n == 1
