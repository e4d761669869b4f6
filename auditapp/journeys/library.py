"""Starter library: ready-made journeys a manager can copy and adapt.

The journeys are data, one JSON file per journey in `library_data/`, in the same shape as JourneySpec (options are
written `Label=score|Label=score`, as in the workbook). Every moment already ends with its verdict question.
"""
from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from .spec import VERDICT_KEY, JourneySpec, MomentSpec, QuestionSpec, ensure_verdicts, parse_options

# Display order; each slug names library_data/<slug>.json.
LIBRARY_SLUGS: tuple[str, ...] = (
    "dentist-visit",
    "airline-trip",
    "retail-store-visit",
    "cafe-order",
    "call-centre-case",
    "online-order-return",
)
# `languages` [[code, name]], `translations` {code: {...}} as in JourneySpec; `verdict_translations` {code: text}
# translates the verdict question that every moment gets.
_JOURNEY_FIELDS = {"name", "description", "moments", "languages", "verdict_translations"}
_MOMENT_FIELDS = {"key", "name", "channel", "kind", "priority", "weight", "expected_seconds", "description", "questions",
                  "translations"}
_QUESTION_FIELDS = {"key", "text", "type", "required", "weight", "critical", "options", "target", "help", "translations"}


def _check_fields(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:  # a typo in the data would otherwise be dropped silently
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")


def _question(data: dict[str, Any], where: str) -> QuestionSpec:
    _check_fields(data, _QUESTION_FIELDS, where)
    return QuestionSpec(
        key=data["key"], text=data["text"], type=data["type"], required=data.get("required", False),
        weight=float(data.get("weight", 1)), critical=data.get("critical", False),
        options=parse_options(data["options"]) if data.get("options") else (), target=data.get("target"),
        help=data.get("help", ""), translations=data.get("translations", {}),
    )


def _moment(data: dict[str, Any], where: str) -> MomentSpec:
    _check_fields(data, _MOMENT_FIELDS, where)
    where = f"{where} {data['key']}"
    return MomentSpec(
        key=data["key"], name=data["name"], channel=data["channel"], kind=data.get("kind"),
        priority=data.get("priority", False), weight=float(data.get("weight", 1)),
        expected_seconds=data.get("expected_seconds"), description=data.get("description", ""),
        questions=[_question(q, f"{where} question {q.get('key')}") for q in data.get("questions", [])],
        translations=data.get("translations", {}),
    )


def journey_from_dict(data: dict[str, Any], where: str = "journey") -> JourneySpec:
    """Build a JourneySpec (verdicts included) from the library's JSON shape."""
    _check_fields(data, _JOURNEY_FIELDS, where)
    spec = ensure_verdicts(JourneySpec(
        name=data["name"], description=data.get("description", ""),
        moments=[_moment(m, f"{where} moment") for m in data["moments"]],
        languages=[tuple(pair) for pair in data.get("languages", [])],
    ))
    for code, text in data.get("verdict_translations", {}).items():
        for moment in spec.moments:
            for question in moment.questions:
                if question.key == VERDICT_KEY and not question.translations.get(code):
                    question.translations = {**question.translations, code: {"text": text}}
    return spec


def _load() -> dict[str, JourneySpec]:
    folder = resources.files(__package__).joinpath("library_data")
    library = {}
    for slug in LIBRARY_SLUGS:
        data = json.loads(folder.joinpath(f"{slug}.json").read_text(encoding="utf-8"))
        library[slug] = journey_from_dict(data, slug)
    return library


LIBRARY: dict[str, JourneySpec] = _load()
"""slug -> journey. Shared: do not modify; use library_journeys() or get_library_journey() for a copy to change."""


def library_journeys() -> list[tuple[str, JourneySpec]]:
    """Every library journey as (slug, a fresh copy of its spec), in display order."""
    return [(slug, copy.deepcopy(spec)) for slug, spec in LIBRARY.items()]


def get_library_journey(slug: str) -> JourneySpec | None:
    """A fresh copy of one library journey, or None for an unknown slug."""
    spec = LIBRARY.get(slug)
    return copy.deepcopy(spec) if spec is not None else None
