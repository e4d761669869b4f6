"""Bulk visit planning as a pure function: which shopper visits which location in one window.

The rules, in order:
1. every location gets exactly one visit in the window;
2. a location is not visited by the shopper who made its previous visit for this journey (when another shopper
   is available): a shopper who keeps visiting the same place is recognised and stops being a secret shopper;
3. the load is spread as evenly as the first two rules allow (existing visits in the window count).

Imports nothing from Flask or SQLAlchemy, so it is tested on plain ids.
"""
from __future__ import annotations

import calendar
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    location_id: Hashable
    shopper_id: Hashable
    window_start: date
    window_end: date
    repeat: bool = False  # the same shopper as last time: only when no other shopper was available


class PlanError(ValueError):
    """The plan cannot be made (no shoppers, a window that ends before it starts)."""


def month_window(year: int, month: int) -> tuple[date, date]:
    """The first and last day of a calendar month."""
    if not 1 <= month <= 12:
        raise PlanError("The month must be between 1 and 12.")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def plan_visits(
    locations: Sequence[Hashable],
    shoppers: Sequence[Hashable],
    previous: Mapping[Hashable, Hashable | None],
    window: tuple[date, date],
    existing_load: Mapping[Hashable, int] | None = None,
) -> list[PlannedVisit]:
    """One visit per location, avoiding each location's previous shopper and balancing the load.

    `locations` and `shoppers` are ids in a stable order (ties go to the earlier shopper, so the plan is
    deterministic); `previous` maps a location to the shopper of its previous visit (missing or None: none);
    `existing_load` counts visits the shoppers already have in the window. The result follows `locations`' order.
    """
    start, end = window
    if end < start:
        raise PlanError("The window ends before it starts.")
    shoppers = list(dict.fromkeys(shoppers))  # drop duplicates, keep the order
    if not shoppers:
        raise PlanError("Pick at least one shopper.")
    locations = list(dict.fromkeys(locations))
    existing = {shopper: max(0, int((existing_load or {}).get(shopper, 0))) for shopper in shoppers}
    allowed = {location: [s for s in shoppers if s != previous.get(location)] or shoppers for location in locations}
    # The smallest "most visits per shopper" for which every location finds an allowed shopper.
    cap = max(max(existing.values()), -(-(len(locations) + sum(existing.values())) // len(shoppers)))
    while True:
        match = _assign(locations, allowed, shoppers, existing, cap)
        if match is not None:
            break
        cap += 1
    return [PlannedVisit(location, match[location], start, end, repeat=match[location] == previous.get(location))
            for location in locations]


def _assign(locations, allowed, shoppers, existing, cap) -> dict | None:
    """Bipartite matching with capacities (augmenting paths); None when some location cannot be placed."""
    rank = {shopper: i for i, shopper in enumerate(shoppers)}
    owned: dict = {shopper: [] for shopper in shoppers}
    match: dict = {}

    def place(location, seen: set) -> bool:
        # Least-loaded shopper first, so the plan is balanced and deterministic, not just feasible.
        for shopper in sorted(allowed[location], key=lambda s: (existing[s] + len(owned[s]), rank[s])):
            if shopper in seen:
                continue
            seen.add(shopper)
            if existing[shopper] + len(owned[shopper]) < cap:
                owned[shopper].append(location)
                match[location] = shopper
                return True
            for other in list(owned[shopper]):
                if place(other, seen):  # move `other` to another shopper and take its place
                    owned[shopper].remove(other)
                    owned[shopper].append(location)
                    match[location] = shopper
                    return True
        return False

    for location in locations:
        if not place(location, set()):
            return None
    return match
