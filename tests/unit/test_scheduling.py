"""Bulk visit planning: one visit per location, never the previous shopper when avoidable, balanced load."""
from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date

import pytest

from auditapp.visits.scheduling import PlanError, month_window, plan_visits

JANUARY = (date(2025, 1, 1), date(2025, 1, 31))


def loads(plan, shoppers, existing=None):
    counts = Counter(getattr(visit, "shopper_id", visit) for visit in plan)
    return {s: counts[s] + (existing or {}).get(s, 0) for s in shoppers}


def test_every_location_once_with_the_window():
    plan = plan_visits(["a", "b", "c", "d", "e"], [1, 2], {}, JANUARY)
    assert [v.location_id for v in plan] == ["a", "b", "c", "d", "e"]
    assert all((v.window_start, v.window_end) == JANUARY for v in plan)
    assert sorted(loads(plan, [1, 2]).values()) == [2, 3]
    assert not any(v.repeat for v in plan)


def test_previous_shopper_is_avoided():
    plan = plan_visits(["a", "b", "c"], [1, 2, 3], {"a": 1, "b": 2, "c": 3}, JANUARY)
    assert {v.location_id: v.shopper_id for v in plan}.items() & {("a", 1), ("b", 2), ("c", 3)} == set()
    assert sorted(loads(plan, [1, 2, 3]).values()) == [1, 1, 1]


def test_greedy_trap_is_still_balanced():
    # Two locations avoid shopper 2 and one avoids 3: a first-come plan gives shopper 1 two visits and 2 none.
    plan = plan_visits([0, 1, 2], [1, 2, 3], {0: 3, 1: 2, 2: 2}, JANUARY)
    assert sorted(loads(plan, [1, 2, 3]).values()) == [1, 1, 1]
    assert all(v.shopper_id != {0: 3, 1: 2, 2: 2}[v.location_id] for v in plan)


def test_existing_visits_in_the_window_count_towards_the_load():
    plan = plan_visits(["a", "b"], [1, 2], {}, JANUARY, existing_load={1: 2})
    assert [v.shopper_id for v in plan] == [2, 2]


def test_single_shopper_repeats_and_says_so():
    plan = plan_visits(["a", "b"], [7], {"a": 7}, JANUARY)
    assert [(v.shopper_id, v.repeat) for v in plan] == [(7, True), (7, False)]


def test_unknown_previous_shopper_is_no_constraint():
    plan = plan_visits(["a"], [1], {"a": 99}, JANUARY)
    assert plan[0].shopper_id == 1 and not plan[0].repeat


def test_deterministic():
    args = (list(range(10)), [5, 6, 7], {i: 5 + i % 3 for i in range(10)}, JANUARY)
    assert plan_visits(*args) == plan_visits(*args)


@pytest.mark.parametrize("seed", range(300))
def test_matches_the_best_plan_found_by_brute_force(seed):
    rng = random.Random(seed)
    shoppers = list(range(100, 100 + rng.randint(1, 4)))
    locations = list(range(rng.randint(0, 6)))
    previous = {loc: rng.choice([*shoppers, None]) for loc in locations}
    existing = {s: rng.randint(0, 2) for s in shoppers} if rng.random() < 0.3 else None

    def cost(assignment):
        load = loads(assignment, shoppers, existing)
        repeats = sum(previous[loc] == s for loc, s in zip(locations, assignment, strict=True))
        return repeats, max(load.values())

    plan = plan_visits(locations, shoppers, previous, JANUARY, existing)
    best = min(cost(a) for a in itertools.product(shoppers, repeat=len(locations)))
    assert cost([v.shopper_id for v in plan]) == best
    assert sum(v.repeat for v in plan) == best[0]


def test_errors():
    with pytest.raises(PlanError, match="shopper"):
        plan_visits(["a"], [], {}, JANUARY)
    with pytest.raises(PlanError, match="ends before"):
        plan_visits(["a"], [1], {}, (date(2025, 2, 1), date(2025, 1, 1)))


def test_month_window():
    assert month_window(2024, 2) == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_window(2025, 12) == (date(2025, 12, 1), date(2025, 12, 31))
    with pytest.raises(PlanError):
        month_window(2025, 13)
