"""Plain description of a journey, shared by the workbook, the starter library and the builder.

Nothing here imports Flask or SQLAlchemy, so workbook parsing and the library are tested without an app (error
messages go through Flask-Babel's gettext, which gives the English text outside a request).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..words import gettext as _

CHANNELS: dict[str, str] = {
    "face_to_face": "Face to face",
    "phone": "Phone",
    "email": "Email",
    "post": "Post",
    "website": "Website",
    "webinar": "Webinar",
    "chat": "Chat",
    "app": "App",
    "social": "Social",
}
# Each channel's colour: the source of the `--ch-<channel>` variables in static/css/app.css (a unit test keeps the
# two equal) and of the PDF visit report, so a moment has one colour on screen and on paper.
CHANNEL_COLOURS: dict[str, str] = {
    "face_to_face": "#1d4ed8",
    "phone": "#7c3aed",
    "email": "#0e7490",
    "post": "#92400e",
    "website": "#047857",
    "webinar": "#be185d",
    "chat": "#4338ca",
    "app": "#0f766e",
    "social": "#b45309",
}
KINDS: dict[str, str] = {"basic": "Basic", "decisive": "Decisive", "invisible": "Invisible"}
QUESTION_TYPES: dict[str, str] = {
    "yes_no": "Yes / no",
    "mnm": "Miserable / neutral / magical",
    "rating": "Rating 1 to 5",
    "number": "Number",
    "choice": "Choice",
    "text": "Text",
    "photo": "Photo",
}
VERDICT_KEY = "verdict"
VERDICT_TEXT = "Overall, how did this moment feel for the customer?"
KEY_RE = re.compile(r"^[a-z0-9_]+$")
TARGET_RE = re.compile(r"^\s*(<=|>=)\s*(-?\d+(?:\.\d+)?)\s*$")
MAX_PRIORITIES = 5
MAX_WEIGHT = 1000.0  # weights compare moments and questions; a huge or infinite one would make scores NaN
MAX_EXPECTED_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class OptionSpec:
    label: str
    score: float | None = None  # None: an unscored option


@dataclass(slots=True)
class QuestionSpec:
    key: str
    text: str
    type: str
    required: bool = False
    weight: float = 1.0
    critical: bool = False
    options: tuple[OptionSpec, ...] = ()
    target: str | None = None  # "<=N" or ">=N", number questions only
    help: str = ""
    translations: dict = field(default_factory=dict)  # {code: {"text", "help", "options": [labels]}}


@dataclass(slots=True)
class MomentSpec:
    key: str
    name: str
    channel: str
    kind: str | None = None
    priority: bool = False
    weight: float = 1.0
    expected_seconds: int | None = None
    description: str = ""
    questions: list[QuestionSpec] = field(default_factory=list)
    translations: dict = field(default_factory=dict)  # {code: {"name", "description"}}


@dataclass(slots=True)
class JourneySpec:
    name: str
    description: str = ""
    moments: list[MomentSpec] = field(default_factory=list)
    default_language: tuple[str, str] = ("en", "English")  # (code, name) of the language the texts are in
    languages: list[tuple[str, str]] = field(default_factory=list)  # the others the texts are translated into


def verdict_question() -> QuestionSpec:
    return QuestionSpec(key=VERDICT_KEY, text=VERDICT_TEXT, type="mnm", required=True, weight=1.0, critical=False)


def ensure_verdicts(spec: JourneySpec) -> JourneySpec:
    """Every moment ends with its verdict question; add it where missing (contract section 2)."""
    for moment in spec.moments:
        if not any(q.key == VERDICT_KEY for q in moment.questions):
            moment.questions.append(verdict_question())
    return spec


def parse_options(text: str) -> tuple[OptionSpec, ...]:
    """`Label=score|Label=score|Label`; raises ValueError with a readable message."""
    options: list[OptionSpec] = []
    seen: set[str] = set()
    for raw in (text or "").split("|"):
        part = raw.strip()
        if not part:
            raise ValueError(_("empty option between '|' separators"))
        label, sep, score_text = part.rpartition("=") if "=" in part else (part, "", "")
        label = label.strip()
        if not label:
            raise ValueError(_("option '%(option)s' has no label", option=part))
        score = None
        if sep:
            try:
                score = float(score_text.strip())
            except ValueError:
                raise ValueError(_("option '%(label)s' has a score that is not a number: '%(score)s'", label=label,
                                   score=score_text.strip())) from None
            if not 0.0 <= score <= 1.0:
                raise ValueError(_("option '%(label)s' has score %(score)s; scores must be between 0 and 1", label=label,
                                   score=score_text.strip()))
        if label.casefold() in seen:
            raise ValueError(_("option '%(label)s' is listed twice", label=label))
        seen.add(label.casefold())
        options.append(OptionSpec(label=label, score=score))
    return tuple(options)


def format_options(options: tuple[OptionSpec, ...] | list[OptionSpec]) -> str:
    return "|".join(o.label if o.score is None else f"{o.label}={_num(o.score)}" for o in options)


def parse_target(text: str) -> tuple[str, float]:
    """`<=N` or `>=N` -> (operator, N); raises ValueError."""
    match = TARGET_RE.match(text or "")
    if not match:
        raise ValueError(_("target '%(target)s' must look like <=N or >=N, for example <=120", target=text))
    return match.group(1), float(match.group(2))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def spec_to_dict(spec: JourneySpec) -> dict:
    """Plain JSON-ready data (spec_from_dict reads it back), e.g. to carry a checked workbook between two pages."""
    return {
        "name": spec.name, "description": spec.description,
        "default_language": list(spec.default_language), "languages": [list(pair) for pair in spec.languages],
        "moments": [{
            "key": m.key, "name": m.name, "channel": m.channel, "kind": m.kind, "priority": m.priority,
            "weight": m.weight, "expected_seconds": m.expected_seconds, "description": m.description,
            "questions": [{
                "key": q.key, "text": q.text, "type": q.type, "required": q.required, "weight": q.weight,
                "critical": q.critical, "options": [[o.label, o.score] for o in q.options], "target": q.target,
                "help": q.help, "translations": q.translations,
            } for q in m.questions],
            "translations": m.translations,
        } for m in spec.moments],
    }


def spec_from_dict(data: dict) -> JourneySpec:
    return JourneySpec(name=data["name"], description=data.get("description", ""),
                       default_language=tuple(data.get("default_language") or ("en", "English")),
                       languages=[tuple(pair) for pair in data.get("languages") or ()], moments=[
        MomentSpec(key=m["key"], name=m["name"], channel=m["channel"], kind=m.get("kind"),
                   priority=bool(m.get("priority")), weight=float(m.get("weight", 1.0)),
                   expected_seconds=m.get("expected_seconds"), description=m.get("description", ""),
                   questions=[QuestionSpec(
                       key=q["key"], text=q["text"], type=q["type"], required=bool(q.get("required")),
                       weight=float(q.get("weight", 1.0)), critical=bool(q.get("critical")),
                       options=tuple(OptionSpec(label, score) for label, score in q.get("options") or ()),
                       target=q.get("target"), help=q.get("help", ""), translations=q.get("translations") or {})
                       for q in m.get("questions", ())], translations=m.get("translations") or {})
        for m in data.get("moments", ())
    ])


def normalise_journey_name(name: str) -> str:
    """The form two journey names are compared in: case-insensitive, surrounding and repeated spaces ignored."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split()).casefold()
