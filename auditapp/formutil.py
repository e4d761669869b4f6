"""Small helpers shared by the WTForms forms."""
from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice

# Ids are INTEGER columns: PostgreSQL cannot even compare a larger number with one (a 500, found by Schemathesis).
MAX_ID = 2**31 - 1


def parse_id(raw: str) -> int | None:
    """ASCII digits of a number an id can be (0 to MAX_ID), else None. str.isdigit() alone also takes '²', which
    int() refuses."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def choices(pairs: Iterable[tuple[object, str]] | dict) -> list[SelectChoice]:
    """(value, label) pairs -> SelectChoice list (tuple choices are deprecated in WTForms 3.3)."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value=str(value), label=label) for value, label in items]


def yes_no(value) -> str:
    return "yes" if value else "no"
