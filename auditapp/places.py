"""Place scopes: what a location manager or regional manager may see. Plain data, no Flask.

A member with a place-scoped role sees only their own places, and there only reviewed work: approved evaluations by
secret shoppers (never drafts, work waiting for review, rejected ones or staff self-assessments) and never who the
shopper was. tenancy.place_scope() builds the scope for the current request; results.queries, the exports, the API
and the site pages apply it.
"""
from __future__ import annotations

from dataclasses import dataclass

SCOPED_STATUSES = ("approved",)
SCOPED_SOURCE = "shopper"


@dataclass(frozen=True, slots=True)
class PlaceScope:
    role: str  # "location_manager" or "regional_manager"
    location_ids: frozenset[int]  # every location the member may see (a regional manager's: those of the regions)
    regions: frozenset[str]  # the regions they may filter by (a location manager's: their locations' regions)

    def allows(self, location_id: int | None) -> bool:
        return location_id is not None and location_id in self.location_ids
