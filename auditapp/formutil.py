"""Small helpers shared by the WTForms forms."""
from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[object, str]] | dict) -> list[SelectChoice]:
    """(value, label) pairs -> SelectChoice list (tuple choices are deprecated in WTForms 3.3)."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value=str(value), label=label) for value, label in items]


def yes_no(value) -> str:
    return "yes" if value else "no"
