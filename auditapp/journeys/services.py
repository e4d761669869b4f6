"""Journey services: build journeys from specs, read them back as specs, and the builder's edits.

Services flush; views and CLI commands commit. Edits go where auditapp.journeys.versioning says.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from ..audit import record
from ..extensions import db
from ..timeutil import utcnow
from . import versioning
from .labels import channel_label, kind_label
from .models import Journey, JourneyVersion, Moment, Question
from .spec import (
    KEY_RE,
    MAX_PRIORITIES,
    VERDICT_KEY,
    JourneySpec,
    MomentSpec,
    OptionSpec,
    QuestionSpec,
    ensure_verdicts,
    normalise_journey_name,
    verdict_question,
)


def _moment_from_spec(spec: MomentSpec, position: int) -> Moment:
    moment = Moment(key=spec.key, name=spec.name, description=spec.description or "", channel=spec.channel,
                    kind=spec.kind or None, priority=bool(spec.priority), weight=float(spec.weight),
                    expected_seconds=spec.expected_seconds, position=position,
                    translations=dict(spec.translations or {}))
    moment.questions = [
        Question(key=q.key, text=q.text, help=q.help or "", type=q.type, required=bool(q.required),
                 weight=float(q.weight), critical=bool(q.critical),
                 options=[[o.label, o.score] for o in q.options] if q.options else None,
                 target=q.target or None, position=i, translations=dict(q.translations or {}))
        for i, q in enumerate(spec.questions)
    ]
    return moment


def spec_languages(spec: JourneySpec) -> dict:
    """A version's language columns for the spec's own language and the ones its texts are translated into."""
    return {"default_language": spec.default_language[0], "default_language_name": spec.default_language[1],
            "languages": [{"code": code, "name": name} for code, name in spec.languages]}


def apply_spec_languages(version: JourneyVersion, spec: JourneySpec) -> None:
    for name, value in spec_languages(spec).items():
        setattr(version, name, value)


def create_journey_from_spec(org_id: int, spec: JourneySpec, *, user_id: int | None = None,
                             library_slug: str | None = None) -> Journey:
    """A new journey whose version 1 is published and ready to use."""
    ensure_verdicts(spec)
    journey = Journey(org_id=org_id, name=spec.name, description=spec.description or "", library_slug=library_slug)
    version = JourneyVersion(journey=journey, number=1, status="published", published_at=utcnow(),
                             created_by_id=user_id)
    apply_spec_languages(version, spec)
    version.moments = [_moment_from_spec(m, i) for i, m in enumerate(spec.moments)]
    db.session.add_all([journey, version])
    db.session.flush()
    journey.current_version = version
    db.session.flush()
    return journey


def version_to_spec(journey: Journey, version: JourneyVersion) -> JourneySpec:
    moments = []
    for m in version.moments:
        questions = [
            QuestionSpec(key=q.key, text=q.text, type=q.type, required=q.required, weight=q.weight,
                         critical=q.critical, options=tuple(OptionSpec(label, score) for label, score in (q.options or [])),
                         target=q.target, help=q.help or "", translations=dict(q.translations or {}))
            for q in m.questions
        ]
        moments.append(MomentSpec(key=m.key, name=m.name, channel=m.channel, kind=m.kind, priority=m.priority,
                                  weight=m.weight, expected_seconds=m.expected_seconds, description=m.description or "",
                                  questions=questions, translations=dict(m.translations or {})))
    return JourneySpec(name=journey.name, description=journey.description or "", moments=moments,
                       default_language=(version.default_language or "en", version.default_language_name or "English"),
                       languages=[(item["code"], item["name"]) for item in version.languages or ()])


def current_moments(journey: Journey) -> list[Moment]:
    return list(journey.current_version.moments) if journey.current_version else []


def published_journeys(org_id: int) -> list[Journey]:
    return list(db.session.scalars(
        select(Journey).where(Journey.org_id == org_id, Journey.archived.is_(False),
                              Journey.current_version_id.is_not(None)).order_by(Journey.name)
    ))


# --------------------------------------------------------------------------------------------------- builder
# Every edit below goes through versioning.editable_version(): never into a version that has answers.


class BuilderError(Exception):
    """An edit refused with a reason for one form field (field None: for the whole form)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def suggest_key(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """'Arrival at the surgery' -> 'arrival_at_the_surgery' (made unique against `taken`)."""
    base = re.sub(r"[^a-z0-9]+", "_", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())
    base = base.strip("_")[:50] or "moment"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _renumber(items) -> None:
    for position, item in enumerate(items):
        item.position = position


def _check_new_key(key: str, taken: set[str], what: str) -> None:
    if not KEY_RE.match(key):
        raise BuilderError("key", _("Use only lower-case letters a-z, digits 0-9 and '_' (for example %(example)s).",
                                    example=suggest_key(key)))
    if key in taken:
        message = (_("Another moment already has the key '%(key)s'; keys must be unique.", key=key) if what == "moment"
                   else _("Another question of this moment already has the key '%(key)s'; keys must be unique.", key=key))
        raise BuilderError("key", message)


def create_blank_journey(org_id: int, name: str, description: str = "", *, user_id: int | None = None) -> Journey:
    """A new journey with an empty draft version 1: nobody can answer it until it is published."""
    journey = Journey(org_id=org_id, name=name.strip(), description=(description or "").strip())
    db.session.add(journey)
    db.session.flush()
    versioning.new_empty_draft(journey, user_id=user_id)
    record("journey.create", journey, summary=f"Journey '{journey.name}' created")
    return journey


def import_journey(org_id: int, spec: JourneySpec, *, user_id: int | None = None, source: str = "",
                   library_slug: str | None = None, copy_name: str | None = None) -> Journey:
    """A published journey from a workbook or the library, with an audit entry. `copy_name`: import under this
    name instead of the workbook's (whose name is taken); check it first with check_copy_name."""
    workbook_name = spec.name
    if copy_name is not None:
        spec = dataclasses.replace(spec, name=copy_name)
    journey = create_journey_from_spec(org_id, spec, user_id=user_id, library_slug=library_slug)
    how = f"copied from the starter library ({library_slug})" if library_slug else f"imported from {source or 'a workbook'}"
    if copy_name is not None:
        how += f" as a copy (the workbook names it '{workbook_name}', which was taken)"
    detail = {"moments": len(spec.moments), "source": source, "library_slug": library_slug}
    if copy_name is not None:
        detail["workbook_name"] = workbook_name
    record("journey.import", journey, summary=f"Journey '{journey.name}' {how}", detail=detail, user=_user(user_id))
    return journey


# Journey names are unique in an organisation up to case and spacing (normalise_journey_name), archived journeys
# included: an import whose name is taken asks for a new version of that journey or a copy under a new name.
# Older data may hold several journeys with one name; each is offered.


def journeys_named(org_id: int, name: str) -> list[Journey]:
    """The organisation's journeys (archived too) whose name matches `name`, oldest first."""
    wanted = normalise_journey_name(name)
    rows = db.session.execute(select(Journey.id, Journey.name).where(Journey.org_id == org_id).order_by(Journey.id))
    ids = [journey_id for journey_id, journey_name in rows if normalise_journey_name(journey_name) == wanted]
    return [db.session.get(Journey, journey_id) for journey_id in ids]


def _taken_names(org_id: int) -> dict[str, Journey]:
    journeys = db.session.scalars(select(Journey).where(Journey.org_id == org_id).order_by(Journey.id.desc()))
    return {normalise_journey_name(j.name): j for j in journeys}


MAX_NAME = 200


def free_copy_name(org_id: int, name: str) -> str:
    """A name not taken yet: 'Dentist visit' -> 'Dentist visit (2)', 'Dentist visit (2)' -> 'Dentist visit (3)'."""
    taken = _taken_names(org_id)
    base = " ".join(name.split())
    n = 2
    numbered = re.fullmatch(r"(.*\S) \((\d{1,6})\)", base)
    if numbered:
        base, n = numbered.group(1), int(numbered.group(2)) + 1
    while True:
        suffix = f" ({n})"
        candidate = base[:MAX_NAME - len(suffix)].rstrip() + suffix
        if normalise_journey_name(candidate) not in taken:
            return candidate
        n += 1


def check_copy_name(org_id: int, name: str) -> str:
    """The copy name, tidied (surrounding and repeated spaces removed). Raises BuilderError('copy_name', ...)."""
    tidy = " ".join((name or "").split())
    if not tidy:
        raise BuilderError("copy_name", _("Give the copy a name: it cannot be empty."))
    if len(tidy) > MAX_NAME:
        raise BuilderError("copy_name", _("The name is too long (%(length)s characters; at most %(limit)s).",
                                          length=len(tidy), limit=MAX_NAME))
    existing = _taken_names(org_id).get(normalise_journey_name(tidy))
    if existing is not None:
        values = {"name": existing.name, "id": existing.id, "example": free_copy_name(org_id, tidy)}
        raise BuilderError("copy_name", _(
            "A journey named '%(name)s' already exists (id %(id)s, archived); names are compared ignoring case and "
            "spaces. Pick another name, for example '%(example)s'.", **values) if existing.archived else _(
            "A journey named '%(name)s' already exists (id %(id)s); names are compared ignoring case and spaces. "
            "Pick another name, for example '%(example)s'.", **values))
    return tidy


@dataclass(frozen=True, slots=True)
class SameNamedJourney:
    """One existing journey an import could become a new version of, as the choice page shows it."""

    id: int
    name: str
    archived: bool
    published_number: int | None
    next_number: int
    draft_number: int | None
    draft_by: str | None
    evaluation_count: int


def same_named_rows(journeys: list[Journey]) -> list[SameNamedJourney]:
    _, Evaluation, _ = versioning._evaluation_models()
    ids = [j.id for j in journeys]
    counts = dict(db.session.execute(select(Evaluation.journey_id, func.count()).where(Evaluation.journey_id.in_(ids))
                                     .group_by(Evaluation.journey_id)).all()) if ids else {}
    rows = []
    for j in journeys:
        draft = versioning.draft_version(j)
        rows.append(SameNamedJourney(
            id=j.id, name=j.name, archived=j.archived,
            published_number=j.current_version.number if j.current_version else None,
            next_number=max((v.number for v in j.versions), default=0) + 1,
            draft_number=draft.number if draft else None,
            draft_by=versioning.draft_author(draft) if draft else None, evaluation_count=counts.get(j.id, 0)))
    return rows


def choose_version_target(candidates: list[Journey], journey_id: str | int | None,
                          published_at_upload: dict[int, int | None], workbook_name: str) -> Journey:
    """The same-named journey that gets the new version. Raises BuilderError('journey_id', ...) when none is
    chosen among several, the choice is not one of them, or its published version changed since the upload
    (another manager published, or this very form was sent twice)."""
    if not candidates:
        raise BuilderError("journey_id", _("No journey is named '%(name)s' any more (it was renamed or removed a "
                                           "moment ago). Import the workbook as a copy, or upload it again.",
                                           name=workbook_name))
    if journey_id in (None, "") and len(candidates) == 1:
        target = candidates[0]
    else:
        try:
            wanted = int(journey_id)
        except (TypeError, ValueError):
            wanted = None
        target = next((j for j in candidates if j.id == wanted), None)
        if target is None:
            raise BuilderError("journey_id", _("Pick which of the %(count)s journeys named '%(name)s' gets the new "
                                               "version.", count=len(candidates), name=workbook_name))
    published = target.current_version.number if target.current_version else None
    if target.id in published_at_upload and published_at_upload[target.id] != published:
        raise BuilderError("journey_id", _("'%(name)s' changed after you uploaded this workbook: version %(number)s "
                                           "is published now (it may be this very workbook, if the form was sent "
                                           "twice). Open the journey to check, and upload the workbook again to make "
                                           "another version.", name=target.name, number=published))
    return target


def import_as_new_version(journey: Journey, spec: JourneySpec, *, user_id: int | None = None,
                          source: str = "") -> JourneyVersion:
    """The workbook becomes the journey's new published version (history kept, results join by key). The journey
    keeps its name; its description becomes the workbook's. Raises versioning.DraftPending / DraftConflict."""
    ensure_verdicts(spec)
    moments = [_moment_from_spec(m, i) for i, m in enumerate(spec.moments)]
    version = versioning.publish_new_version(journey, moments, user_id=user_id, source=source,
                                             languages=spec_languages(spec))
    if journey.description != (spec.description or ""):
        journey.description = spec.description or ""
        db.session.flush()
    return version


def copy_library_journey(org_id: int, slug: str, *, user_id: int | None = None) -> Journey | None:
    from .library import get_library_journey

    spec = get_library_journey(slug)
    if spec is None:
        return None
    return import_journey(org_id, spec, user_id=user_id, library_slug=slug)


def replace_from_spec(journey: Journey, spec: JourneySpec, *, user_id: int | None = None) -> JourneyVersion:
    """A new draft holding the workbook's moments (an existing draft is replaced); publish to use it."""
    ensure_verdicts(spec)
    draft = versioning.draft_version(journey)
    if draft is None:
        draft = versioning.new_empty_draft(journey, user_id=user_id)
    else:
        draft.moments = []
        db.session.flush()  # old rows go before new rows with the same keys arrive
    draft.moments = [_moment_from_spec(m, i) for i, m in enumerate(spec.moments)]
    apply_spec_languages(draft, spec)
    journey.name, journey.description = spec.name, spec.description or ""
    db.session.flush()
    record("journey.upload", journey, summary=f"Draft version {draft.number} of '{journey.name}' replaced from a "
                                              f"workbook ({len(spec.moments)} moments)", detail={"version": draft.number})
    return draft


def update_journey(journey: Journey, name: str, description: str) -> None:
    changes = {k: v for k, v in (("name", name.strip()), ("description", (description or "").strip()))
               if getattr(journey, k) != v}
    for field_name, value in changes.items():
        setattr(journey, field_name, value)
    if changes:
        db.session.flush()
        record("journey.update", journey, summary=f"Journey '{journey.name}' renamed or described",
               detail={"changed": sorted(changes)})


def set_archived(journey: Journey, archived: bool) -> None:
    if journey.archived == archived:
        return
    journey.archived = archived
    db.session.flush()
    verb = "archived" if archived else "restored"
    record(f"journey.{'archive' if archived else 'restore'}", journey, summary=f"Journey '{journey.name}' {verb}")


def _apply_moment(moment: Moment, data: MomentSpec) -> list[str]:
    changed = []
    for name in ("key", "name", "description", "channel", "kind", "priority", "weight", "expected_seconds"):
        value = getattr(data, name)
        if name == "kind":
            value = value or None
        if getattr(moment, name) != value:
            setattr(moment, name, value)
            changed.append(name)
    return changed


def add_moment(journey: Journey, data: MomentSpec, *, user_id: int | None = None, after: Moment | None = None) -> Moment:
    """Append a moment (or insert it after `after`) with its verdict question. Raises BuilderError."""
    version = versioning.editable_version(journey, user_id=user_id)
    moments = list(version.moments)
    taken = {m.key for m in moments}
    data.key = (data.key or "").strip() or suggest_key(data.name, taken)
    _check_new_key(data.key, taken, "moment")
    moment = Moment(key=data.key, name=data.name, description=data.description or "", channel=data.channel,
                    kind=data.kind or None, priority=bool(data.priority), weight=float(data.weight),
                    expected_seconds=data.expected_seconds, position=len(moments))
    moment.questions = [_question_from_spec(verdict_question(), 0)]
    index = len(moments)
    if after is not None:
        index = next((i + 1 for i, m in enumerate(moments) if m.key == after.key), index)
    moments.insert(index, moment)
    version.moments.append(moment)
    _renumber(moments)
    db.session.flush()
    db.session.expire(version, ["moments"])
    record("moment.create", journey, summary=f"Moment '{moment.name}' ({moment.key}) added to '{journey.name}' "
                                             f"version {version.number}", detail={"moment": moment.key})
    return moment


def update_moment(journey: Journey, moment: Moment, data: MomentSpec, *, user_id: int | None = None) -> Moment:
    """Edit a moment (in the version edits go to). Raises BuilderError."""
    target = _editable_moment(journey, moment, user_id)
    data.key = (data.key or "").strip() or target.key
    if data.key != target.key:
        _check_new_key(data.key, {m.key for m in target.version.moments if m.id != target.id}, "moment")
        if versioning.moment_key_answered(journey, target.key):
            raise BuilderError("key", _("Answers were collected under the key '%(key)s', so it cannot change: "
                                        "results of all versions are joined by key.", key=target.key))
    changed = _apply_moment(target, data)
    if changed:
        db.session.flush()
        record("moment.update", journey, summary=f"Moment '{target.name}' ({target.key}) of '{journey.name}' edited: "
                                                 f"{', '.join(changed)}", detail={"moment": target.key, "changed": changed})
    return target


def delete_moment(journey: Journey, moment: Moment, *, user_id: int | None = None) -> str:
    """Remove a moment from the version edits go to; answers already collected keep their own version's copy."""
    target = _editable_moment(journey, moment, user_id)
    version = target.version
    name, key = target.name, target.key
    version.moments.remove(target)
    _renumber(version.moments)
    db.session.flush()
    record("moment.delete", journey, summary=f"Moment '{name}' ({key}) removed from '{journey.name}' version "
                                             f"{version.number}", detail={"moment": key})
    return name


def move_moment(journey: Journey, moment: Moment, step: int, *, user_id: int | None = None) -> Moment:
    """Move a moment one place earlier (step -1) or later (step 1) in the timeline; at an end nothing changes."""
    target = _editable_moment(journey, moment, user_id)
    moments = list(target.version.moments)
    index = moments.index(target)
    other = index + step
    if 0 <= other < len(moments):
        moments[index], moments[other] = moments[other], moments[index]
        _renumber(moments)
        db.session.flush()
        db.session.expire(target.version, ["moments"])
        record("moment.move", journey, summary=f"Moment '{target.name}' moved {'up' if step < 0 else 'down'} in "
                                               f"'{journey.name}'", detail={"moment": target.key, "position": other})
    return target


def _editable_moment(journey: Journey, moment: Moment, user_id: int | None) -> Moment:
    target = versioning.editable_moment(journey, moment, user_id=user_id)
    if target is None:
        raise BuilderError(None, _("The moment '%(name)s' is no longer in the draft.", name=moment.name))
    return target


def _question_from_spec(q: QuestionSpec, position: int) -> Question:
    return Question(key=q.key, text=q.text, help=q.help or "", type=q.type, required=bool(q.required),
                    weight=float(q.weight), critical=bool(q.critical),
                    options=[[o.label, o.score] for o in q.options] if q.options else None,
                    target=q.target or None, position=position)


def _ordered_questions(moment: Moment) -> list[Question]:
    """Questions in order with the verdict always last."""
    items = sorted(moment.questions, key=lambda q: q.position)
    return [q for q in items if q.key != VERDICT_KEY] + [q for q in items if q.key == VERDICT_KEY]


def add_question(journey: Journey, moment: Moment, data: QuestionSpec, *, user_id: int | None = None) -> Question:
    """Add a question to a moment's checklist, before its verdict. Raises BuilderError."""
    target = _editable_moment(journey, moment, user_id)
    questions = _ordered_questions(target)
    taken = {q.key for q in questions} | {VERDICT_KEY}
    data.key = (data.key or "").strip() or suggest_key(data.text, taken)
    _check_new_key(data.key, taken, "question of this moment")
    question = _question_from_spec(data, 0)
    verdicts = [q for q in questions if q.key == VERDICT_KEY]
    ordered = [q for q in questions if q.key != VERDICT_KEY] + [question] + verdicts
    target.questions.append(question)
    _renumber(ordered)
    db.session.flush()
    db.session.expire(target, ["questions"])
    record("question.create", journey, summary=f"Question '{question.key}' added to moment '{target.name}' of "
                                               f"'{journey.name}'", detail={"moment": target.key, "question": question.key})
    return question


def update_question(journey: Journey, question: Question, data: QuestionSpec, *, user_id: int | None = None) -> Question:
    """Edit a question; the verdict keeps its key, type, required, weight and critical. Raises BuilderError."""
    target = _editable_question(journey, question, user_id)
    moment = target.moment
    if target.key == VERDICT_KEY:
        data.key, data.type, data.required, data.weight, data.critical = VERDICT_KEY, "mnm", True, 1.0, False
        data.options, data.target = (), None
    data.key = (data.key or "").strip() or target.key
    if data.key != target.key:
        _check_new_key(data.key, {q.key for q in moment.questions if q.id != target.id} | {VERDICT_KEY},
                       "question of this moment")
        if versioning.question_key_answered(journey, moment.key, target.key):
            raise BuilderError("key", _("Answers were collected under the key '%(key)s', so it cannot change: "
                                        "results of all versions are joined by key.", key=target.key))
    new = _question_from_spec(data, target.position)
    if len(new.options or []) != len(target.options or []):  # translated labels follow options by position
        target.translations = {code: {f: v for f, v in texts.items() if f != "options"}
                               for code, texts in (target.translations or {}).items()}
    changed = []
    for name in ("key", "text", "help", "type", "required", "weight", "critical", "options", "target"):
        value = getattr(new, name)
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    if changed:
        db.session.flush()
        record("question.update", journey, summary=f"Question '{target.key}' of moment '{moment.name}' edited: "
                                                   f"{', '.join(changed)}",
               detail={"moment": moment.key, "question": target.key, "changed": changed})
    return target


def delete_question(journey: Journey, question: Question, *, user_id: int | None = None) -> str:
    """Remove a question from the version edits go to; the verdict cannot be removed. Raises BuilderError."""
    if question.key == VERDICT_KEY:
        raise BuilderError(None, _("Every moment keeps its verdict question; it cannot be deleted."))
    target = _editable_question(journey, question, user_id)
    moment = target.moment
    key = target.key
    moment.questions.remove(target)
    _renumber(_ordered_questions(moment))
    db.session.flush()
    record("question.delete", journey, summary=f"Question '{key}' removed from moment '{moment.name}' of "
                                               f"'{journey.name}'", detail={"moment": moment.key, "question": key})
    return key


def move_question(journey: Journey, question: Question, step: int, *, user_id: int | None = None) -> Question:
    """Move a question up or down its checklist; the verdict stays last."""
    if question.key == VERDICT_KEY:
        return question
    target = _editable_question(journey, question, user_id)
    moment = target.moment
    ordered = _ordered_questions(moment)
    movable = [q for q in ordered if q.key != VERDICT_KEY]
    index = movable.index(target)
    other = index + step
    if 0 <= other < len(movable):
        movable[index], movable[other] = movable[other], movable[index]
        _renumber(movable + [q for q in ordered if q.key == VERDICT_KEY])
        db.session.flush()
        db.session.expire(moment, ["questions"])
        record("question.move", journey, summary=f"Question '{target.key}' of moment '{moment.name}' moved "
                                                 f"{'up' if step < 0 else 'down'}",
               detail={"moment": moment.key, "question": target.key, "position": other})
    return target


def _editable_question(journey: Journey, question: Question, user_id: int | None) -> Question:
    target = versioning.editable_question(journey, question, user_id=user_id)
    if target is None:
        raise BuilderError(None, _("The question '%(key)s' is no longer in the draft.", key=question.key))
    return target


def _user(user_id: int | None):
    from ..auth.models import User

    return db.session.get(User, user_id) if user_id else None


# --------------------------------------------------------------------------------------------------- summaries
# Finished numbers for the templates: no queries in Jinja.


@dataclass(frozen=True, slots=True)
class MomentCard:
    id: int
    key: str
    name: str
    description: str
    channel: str
    channel_label: str
    kind: str | None
    kind_label: str
    priority: bool
    weight: float
    expected_seconds: int | None
    question_count: int
    position: int
    first: bool
    last: bool


@dataclass(frozen=True, slots=True)
class BuilderView:
    journey: Journey
    version: JourneyVersion | None  # the version shown: the draft, else the published one
    is_draft: bool
    published_number: int | None
    cards: list[MomentCard]
    priority_count: int
    priority_advice: str | None  # too many or too few priorities
    too_many_priorities: bool
    published_has_evaluations: bool


def priority_advice(count: int, moments: int) -> tuple[str | None, bool]:
    """A warning for more than MAX_PRIORITIES priority moments, a nudge for fewer than 3."""
    if count > MAX_PRIORITIES:
        return (_("%(count)d moments are marked as priorities. Pick at most %(most)d: too many priorities "
                  "means no focus.", count=count, most=MAX_PRIORITIES), True)
    if moments and count < 3:
        return (ngettext("%(num)d priority moment so far. Mark the 3 to %(most)d moments that matter most to "
                         "customers (first and last impressions weigh most).",
                         "%(num)d priority moments so far. Mark the 3 to %(most)d moments that matter most to "
                         "customers (first and last impressions weigh most).", count, most=MAX_PRIORITIES), False)
    return None, False


def moment_cards(version: JourneyVersion | None) -> list[MomentCard]:
    moments = list(version.moments) if version else []
    return [
        MomentCard(id=m.id, key=m.key, name=m.name, description=m.description or "", channel=m.channel,
                   channel_label=channel_label(m.channel), kind=m.kind, kind_label=kind_label(m.kind),
                   priority=m.priority, weight=m.weight, expected_seconds=m.expected_seconds,
                   question_count=len(m.questions), position=i, first=i == 0, last=i == len(moments) - 1)
        for i, m in enumerate(moments)
    ]


def builder_view(journey: Journey) -> BuilderView:
    version = versioning.working_version(journey)
    cards = moment_cards(version)
    count = sum(1 for c in cards if c.priority)
    advice, too_many = priority_advice(count, len(cards))
    current = journey.current_version
    return BuilderView(
        journey=journey, version=version, is_draft=bool(version and version.status == versioning.DRAFT),
        published_number=current.number if current else None, cards=cards, priority_count=count,
        priority_advice=advice, too_many_priorities=too_many,
        published_has_evaluations=bool(current and versioning.version_has_evaluations(current)),
    )


@dataclass(frozen=True, slots=True)
class JourneyRow:
    id: int
    name: str
    description: str
    archived: bool
    published_number: int | None
    draft_number: int | None
    moment_count: int
    priority_count: int
    library_slug: str | None


def journey_rows(org_id: int) -> list[JourneyRow]:
    journeys = list(db.session.scalars(select(Journey).where(Journey.org_id == org_id).order_by(Journey.name)))
    drafts = {v.journey_id: v for v in db.session.scalars(
        select(JourneyVersion).join(Journey, JourneyVersion.journey_id == Journey.id)
        .where(Journey.org_id == org_id, JourneyVersion.status == versioning.DRAFT))}
    rows = []
    for j in journeys:
        shown = drafts.get(j.id) or j.current_version
        moments = list(shown.moments) if shown else []
        rows.append(JourneyRow(
            id=j.id, name=j.name, description=j.description or "", archived=j.archived,
            published_number=j.current_version.number if j.current_version else None,
            draft_number=drafts[j.id].number if j.id in drafts else None, moment_count=len(moments),
            priority_count=sum(1 for m in moments if m.priority), library_slug=j.library_slug))
    return rows
