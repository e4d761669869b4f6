"""Findings: the three to five sentences a scorecard opens with, generated from its numbers, each with its n.

Plain functions over plain facts (no Flask, no SQL), so they are tested on hand-made numbers. The rules:
- the weakest moment: the lowest mean score among moments with at least LOW_N scores;
- the biggest significant drop: the largest fall among moments whose change the warning signal flagged
  (Welch's t-test, results.queries.SIGNAL_*), so chance never makes a finding;
- the most failed checklist item: the highest share of answers that earned nothing, at least LOW_N answers;
- the best location: the highest mean evaluation score among locations with at least LOW_N scores, when there
  are at least two such locations to compare;
- the widest staff/shopper gap: the largest difference with at least LOW_N scores on each side.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..scoring.rules import score_band, score_text

LOW_N = 3


@dataclass(frozen=True, slots=True)
class MomentFact:
    key: str
    name: str
    n: int
    score: float | None
    change: float | None = None  # points against the previous period
    flagged: bool = False  # the warning signal says the change is significant


@dataclass(frozen=True, slots=True)
class ItemFact:
    moment_name: str
    text: str
    n: int
    failed: int


@dataclass(frozen=True, slots=True)
class PlaceFact:
    name: str
    n: int
    score: float | None


@dataclass(frozen=True, slots=True)
class GapFact:
    name: str
    shopper_n: int
    shopper: float | None
    staff_n: int
    staff: float | None


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # weakest_moment, biggest_drop, most_failed_item, best_location, widest_gap
    text: str
    n: int


def _points(value: float) -> int:
    return math.floor(abs(value) + 0.5)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def weakest_moment(moments: Sequence[MomentFact], bands) -> Finding | None:
    ranked = [m for m in moments if m.score is not None and m.n >= LOW_N]
    if not ranked:
        return None
    m = min(ranked, key=lambda m: (m.score, m.key))
    return Finding("weakest_moment", f"Weakest moment: {m.name}, {score_text(m.score, bands)} "
                                     f"({score_band(m.score, bands)}, n={m.n}).", m.n)


def biggest_drop(moments: Sequence[MomentFact]) -> Finding | None:
    drops = [m for m in moments if m.flagged and m.change is not None and m.change < 0]
    if not drops:
        return None
    m = min(drops, key=lambda m: (m.change, m.key))
    return Finding("biggest_drop", f"Biggest significant drop: {m.name}, down {_plural(_points(m.change), 'point')} "
                                   f"against the previous period (n={m.n}).", m.n)


def most_failed_item(items: Sequence[ItemFact]) -> Finding | None:
    ranked = [i for i in items if i.n >= LOW_N and i.failed]
    if not ranked:
        return None
    i = max(ranked, key=lambda i: (i.failed / i.n, i.failed))
    share = math.floor(100 * i.failed / i.n + 0.5)
    return Finding("most_failed_item", f"Most failed checklist item: “{i.text}” ({i.moment_name}), failed "
                                       f"{i.failed} of {i.n} times ({share}%).", i.n)


def best_location(places: Sequence[PlaceFact], bands) -> Finding | None:
    ranked = [p for p in places if p.score is not None and p.n >= LOW_N]
    if len(ranked) < 2:
        return None
    p = max(ranked, key=lambda p: (p.score, p.name))
    return Finding("best_location", f"Best location: {p.name}, {score_text(p.score, bands)} "
                                    f"({score_band(p.score, bands)}, n={p.n}) of {len(ranked)} compared.", p.n)


def widest_gap(gaps: Sequence[GapFact]) -> Finding | None:
    ranked = [g for g in gaps if g.shopper is not None and g.staff is not None
              and g.shopper_n >= LOW_N and g.staff_n >= LOW_N]
    if not ranked:
        return None
    g = max(ranked, key=lambda g: (abs(g.staff - g.shopper), g.name))
    points = _points(g.staff - g.shopper)
    if points == 0:
        return None
    who = "staff rate it" if g.staff > g.shopper else "shoppers rate it"
    return Finding("widest_gap", f"Widest staff/shopper gap: {g.name}, {who} {_plural(points, 'point')} higher "
                                 f"(staff n={g.staff_n}, shoppers n={g.shopper_n}).", g.shopper_n + g.staff_n)


def findings(moments: Sequence[MomentFact], items: Sequence[ItemFact], places: Sequence[PlaceFact],
             gaps: Sequence[GapFact], bands, *, limit: int = 5) -> list[Finding]:
    """Up to five findings in a fixed order; a rule with too little data to speak is left out."""
    found = [weakest_moment(moments, bands), biggest_drop(moments), most_failed_item(items),
             best_location(places, bands), widest_gap(gaps)]
    return [f for f in found if f is not None][:limit]
