"""The evaluation form: the start form, field names, and the form-to-payload mapping shared with evaluate.js.

Field names follow the error fields of the submission service, so an error lands next to its input:
`answers.<moment>.<question>`, `answer_notes.<moment>.<question>`, `moment_notes.<moment>`, `durations.<moment>`,
`notes`, `location_id`, `started_at`. A photo question also has a file input `photo_files.<moment>.<question>`;
its `answers.*` hidden field keeps the id of a photo already uploaded, so a re-rendered form never loses it.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from ..formutil import choices
from ..journeys.labels import VERDICT_LABELS, channel_label, kind_label
from ..journeys.languages import default_option_labels, shown_option_labels, shown_text
from ..journeys.spec import VERDICT_KEY

NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
INTEGER_RE = re.compile(r"^[+-]?\d+$")
SOURCE_LABELS = {"shopper": _l("Secret shopper visit"), "staff": _l("Staff self-assessment")}
VERDICTS = tuple(VERDICT_LABELS.items())
YES_NO_LABELS = {"yes": _l("Yes"), "no": _l("No")}
YES_NO = tuple(YES_NO_LABELS.items())
RATINGS = tuple((str(n), str(n)) for n in range(1, 6))
NA = ("na", _l("N/A"))


class StartForm(FlaskForm):
    """Which location and journey to evaluate. A GET form: starting changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    location = SelectField(_l("Location"), validate_choice=False)
    journey = SelectField(_l("Journey"), validate_choice=False)
    source = SelectField(_l("This is a"), choices=choices(SOURCE_LABELS), validate_choice=False)

    def fill_choices(self, locations: Iterable, journeys: Iterable) -> None:
        self.location.choices = choices([("", _("Choose a location"))] + [(loc.id, _location_label(loc)) for loc in locations])
        self.journey.choices = choices([("", _("Choose a journey"))] + [(j.id, j.name) for j in journeys])


def _location_label(location) -> str:
    return f"{location.name} ({location.code})" if location.code else location.name


def answer_name(moment_key: str, question_key: str) -> str:
    return f"answers.{moment_key}.{question_key}"


def note_name(moment_key: str, question_key: str) -> str:
    return f"answer_notes.{moment_key}.{question_key}"


def photo_file_name(moment_key: str, question_key: str) -> str:
    return f"photo_files.{moment_key}.{question_key}"


def new_client_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class QuestionField:
    """One question as the template draws it: names, ids, the value typed so far and its error."""

    moment_key: str
    key: str
    text: str
    type: str
    help: str = ""
    required: bool = False
    critical: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for radio questions
    target: str | None = None
    value: str = ""
    note: str = ""
    error: str = ""

    @property
    def is_verdict(self) -> bool:
        return self.key == VERDICT_KEY and self.type == "mnm"

    @property
    def name(self) -> str:
        return answer_name(self.moment_key, self.key)

    @property
    def note_name(self) -> str:
        return note_name(self.moment_key, self.key)

    @property
    def file_name(self) -> str:
        return photo_file_name(self.moment_key, self.key)

    @property
    def id(self) -> str:
        return f"q-{self.moment_key}-{self.key}"


@dataclass(slots=True)
class MomentField:
    key: str
    name: str
    position: int  # 1-based place in the timeline
    total: int
    channel: str
    channel_label: str
    kind: str | None = None
    kind_label: str = ""
    priority: bool = False
    expected_seconds: int | None = None
    description: str = ""
    questions: list[QuestionField] = field(default_factory=list)
    note: str = ""
    note_error: str = ""
    duration: str = ""
    duration_error: str = ""
    errors: list[str] = field(default_factory=list)  # anything else the server said about this moment

    @property
    def id(self) -> str:
        return f"m-{self.key}"

    @property
    def note_name(self) -> str:
        return f"moment_notes.{self.key}"

    @property
    def duration_name(self) -> str:
        return f"durations.{self.key}"

    @property
    def has_error(self) -> bool:
        return bool(self.note_error or self.duration_error or self.errors or any(q.error for q in self.questions))


def _radio_options(question, language: str | None = None) -> tuple[tuple[str, str], ...]:
    qtype = question.type
    is_verdict = question.key == VERDICT_KEY
    if qtype == "yes_no":
        base = YES_NO
    elif qtype == "mnm":
        base = VERDICTS
    elif qtype == "rating":
        base = RATINGS
    elif qtype == "choice":
        # The value is the label in the journey's own language (what is stored and scored); the shopper reads hers.
        base = tuple(zip(default_option_labels(question), shown_option_labels(question, language), strict=True))
    else:
        return ()
    return base if is_verdict else (*base, NA)


def build_fields(moments: list, values: Mapping[str, str] | None = None,
                 errors: Mapping[str, str] | None = None, language: str | None = None) -> list[MomentField]:
    """Moments (models or specs, in timeline order) -> what the template draws, with typed values and errors, the
    texts in `language` where the journey has them translated."""
    values = values or {}
    errors = dict(errors or {})
    total = len(moments)
    result = []
    for index, moment in enumerate(moments, start=1):
        mf = MomentField(key=moment.key, name=shown_text(moment, "name", language), position=index, total=total,
                         channel=moment.channel, channel_label=channel_label(moment.channel), kind=moment.kind or None,
                         kind_label=kind_label(moment.kind), priority=bool(moment.priority),
                         expected_seconds=moment.expected_seconds,
                         description=shown_text(moment, "description", language))
        for question in moment.questions:
            qf = QuestionField(moment_key=moment.key, key=question.key, text=shown_text(question, "text", language),
                               type=question.type, help=shown_text(question, "help", language),
                               required=bool(question.required), critical=bool(question.critical),
                               options=_radio_options(question, language),
                               target=question.target or None)
            qf.value = values.get(qf.name, "")
            qf.note = values.get(qf.note_name, "")
            qf.error = " ".join(filter(None, (errors.pop(qf.name, ""), errors.pop(qf.note_name, ""),
                                              errors.pop(qf.file_name, ""))))
            mf.questions.append(qf)
        mf.note = values.get(mf.note_name, "")
        mf.duration = values.get(mf.duration_name, "")
        mf.note_error = errors.pop(mf.note_name, "")
        mf.duration_error = errors.pop(mf.duration_name, "")
        prefix = f"answers.{moment.key}."
        mf.errors = [message for name, message in list(errors.items()) if name.startswith(prefix)]
        result.append(mf)
    return result


def errors_by_field(errors: Iterable[Mapping]) -> dict[str, str]:
    """The service's [{field, message}] -> {field: "message. message"}, keeping every message."""
    found: dict[str, str] = {}
    for error in errors:
        name = str(error.get("field") or "")
        message = str(error.get("message") or "").strip()
        if name.endswith(".value"):  # "answers.m.q.value" and "answers.m.q" mean the same input
            name = name[: -len(".value")]
        if name.endswith(".note") and name.startswith("answers."):
            name = "answer_notes." + name[len("answers."):-len(".note")]
        found[name] = f"{found[name]} {message}".strip() if name in found else message
    return found


def _number_or_text(raw: str):
    """A typed number as a JSON number when it is one; anything else as typed, for the server to reject clearly."""
    text = raw.strip()
    if INTEGER_RE.match(text) and len(text) < 16:
        return int(text)
    if NUMBER_RE.match(text):
        return float(text)
    return text


def payload_from_form(form: Mapping[str, str], moments: list, *, journey_id: int, source: str,
                      finished_at: str, assignment_id: int | None = None) -> dict:
    """The submitted form fields -> the JSON payload of POST /api/v1/evaluations (contract section 4).

    Only answered questions (or ones with a note) are listed. Values stay as typed where the type cannot be
    told, so the service's validation reports them next to the right field. evaluate.js mirrors this mapping.
    """
    answers = []
    durations: dict[str, object] = {}
    moment_notes: dict[str, str] = {}
    for moment in moments:
        for question in moment.questions:
            raw = (form.get(answer_name(moment.key, question.key)) or "").strip()
            note = (form.get(note_name(moment.key, question.key)) or "").strip()
            if not raw and not note:
                continue
            value: object = raw or None
            if raw and question.type in ("number", "rating") and raw.casefold() != "na":
                value = _number_or_text(raw)
            answers.append({"moment": moment.key, "question": question.key, "value": value, "note": note})
        duration = (form.get(f"durations.{moment.key}") or "").strip()
        if duration:
            durations[moment.key] = _number_or_text(duration)
        moment_note = (form.get(f"moment_notes.{moment.key}") or "").strip()
        if moment_note:
            moment_notes[moment.key] = moment_note
    location = (form.get("location_id") or "").strip()
    payload = {
        "client_uuid": (form.get("client_uuid") or "").strip(),
        "journey_id": journey_id,
        "location_id": int(location) if location.isascii() and location.isdigit() else (location or None),
        "source": source,
        "started_at": (form.get("started_at") or "").strip() or None,
        "finished_at": (form.get("finished_at") or "").strip() or finished_at,
        "notes": (form.get("notes") or "").strip(),
        "answers": answers,
        "durations": durations,
        "moment_notes": moment_notes,
    }
    if assignment_id is not None:
        payload["assignment_id"] = assignment_id
    if (form.get("language") or "").strip():
        payload["language"] = form["language"].strip()
    return payload
