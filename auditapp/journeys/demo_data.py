"""Demo step: the demo organisation's journeys, copied from the starter library (contract section 5)."""
from __future__ import annotations

from ..audit import record
from .library import get_library_journey
from .services import create_journey_from_spec

DEMO_JOURNEY_SLUGS = ("dentist-visit", "airline-trip", "cafe-order")


def add_demo_journeys(result, seed: int) -> None:
    """Copy the dentist visit, the airline trip and the café order into result.org; keep them in result.journeys[slug]."""
    admin = next((u for u in result.users.values() if getattr(u, "email", "").startswith("admin")), None)
    for slug in DEMO_JOURNEY_SLUGS:
        spec = get_library_journey(slug)
        journey = create_journey_from_spec(result.org.id, spec, user_id=getattr(admin, "id", None), library_slug=slug)
        record("journey.create", journey, summary=f"Demo journey '{journey.name}' copied from the starter library",
               org_id=result.org.id, user=admin)
        result.journeys[slug] = journey
    result.lines.append(f"Journeys: {', '.join(j.name for j in result.journeys.values())}.")
