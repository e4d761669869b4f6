"""The scorecard's findings on hand-made numbers: which fact each rule picks, its n, and when it stays silent."""
from __future__ import annotations

from auditapp.results.findings import (
    GapFact,
    ItemFact,
    MomentFact,
    PlaceFact,
    best_location,
    biggest_drop,
    findings,
    most_failed_item,
    weakest_moment,
    widest_gap,
)

BANDS = (50.0, 80.0)
MOMENTS = [
    MomentFact("greet", "Greeting", 12, 84.0, change=-3.0, flagged=False),
    MomentFact("order", "Ordering", 2, 10.0),  # lowest, but n < 3: never the weakest
    MomentFact("pay", "Paying", 9, 46.4, change=-14.2, flagged=True),
    MomentFact("leave", "Farewell", 10, 61.0, change=-20.0, flagged=False),  # bigger, not significant
    MomentFact("wait", "Waiting", 7, 70.0, change=8.0, flagged=True),  # significant, but a rise
]
ITEMS = [ItemFact("Greeting", "Smiled", 12, 3), ItemFact("Paying", "Receipt offered", 9, 6),
         ItemFact("Ordering", "Menu explained", 2, 2)]
PLACES = [PlaceFact("City North", 10, 72.0), PlaceFact("Harbour", 8, 81.5), PlaceFact("Tiny", 2, 99.0)]
GAPS = [GapFact("Greeting", 12, 80.0, 5, 95.0), GapFact("Paying", 9, 46.0, 4, 78.0), GapFact("Waiting", 1, 10.0, 9, 90.0)]


def test_weakest_moment_skips_low_n():
    f = weakest_moment(MOMENTS, BANDS)
    assert f.kind == "weakest_moment" and f.n == 9
    assert f.text == "Weakest moment: Paying, 46 (miserable, n=9)."


def test_biggest_drop_is_significant_and_a_fall():
    f = biggest_drop(MOMENTS)
    assert f.text == "Biggest significant drop: Paying, down 14 points against the previous period (n=9)."
    assert biggest_drop([m for m in MOMENTS if m.key != "pay"]) is None  # the rise and the unflagged fall: none


def test_most_failed_item_by_rate_with_its_n():
    f = most_failed_item(ITEMS)
    assert f.n == 9 and "“Receipt offered” (Paying), failed 6 of 9 times (67%)" in f.text
    assert most_failed_item([ItemFact("A", "x", 5, 0)]) is None  # nothing failed


def test_best_location_needs_two_to_compare():
    f = best_location(PLACES, BANDS)
    assert f.text == "Best location: Harbour, 82 (magical, n=8) of 2 compared."
    assert best_location(PLACES[:1] + PLACES[2:], BANDS) is None


def test_widest_gap_needs_both_sides():
    f = widest_gap(GAPS)
    assert f.text == "Widest staff/shopper gap: Paying, staff rate it 32 points higher (staff n=4, shoppers n=9)."
    assert f.n == 13
    assert widest_gap([GapFact("Same", 5, 70.0, 5, 70.2)]) is None  # no gap to speak of


def test_findings_in_order_three_to_five():
    found = findings(MOMENTS, ITEMS, PLACES, GAPS, BANDS)
    assert [f.kind for f in found] == ["weakest_moment", "biggest_drop", "most_failed_item", "best_location",
                                       "widest_gap"]
    assert all("n=" in f.text or " of " in f.text for f in found)
    assert findings([], [], [], [], BANDS) == []
