"""Submitting evaluations (contract sections 3 and 4): validate everything, score, store once.

`submit_evaluation` is the one way an evaluation enters the database, for the JSON API, the offline queue and the
phone form alike. It validates the whole payload first and reports every problem at once, then stores the
evaluation with its answers and per-moment results in one go. Services flush; the caller commits.

Stored answers: one `Answer` row per question that was answered (including "na") or that carries a note; a
question left unanswered and without a note has no row. A row with `value` None is a note on an unanswered question.

Idempotency: `client_uuid` is unique per organisation. The same uuid with the same content (sha256 of the canonical
JSON payload) answers with the stored evaluation; different content is a 409, except when the stored evaluation was
returned to its evaluator for changes: then it is updated in place (a resubmission, issue 5).

Notifications: a stored or resubmitted secret-shopper evaluation with a critical fail queues a mail to the
location's managers in the same transaction (auditapp.notify.notices.notify_critical_fail); replays queue nothing.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, false, insert, inspect, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..audit import record, record_at_once
from ..auth.models import PLACE_ROLES, User
from ..extensions import db
from ..formutil import MAX_ID, parse_id
from ..journeys.checklist import Checklist, ChecklistMoment, ChecklistQuestion, checklist
from ..journeys.languages import version_languages
from ..journeys.models import Journey, JourneyVersion
from ..journeys.spec import VERDICT_KEY
from ..locations.models import Location
from ..notify.notices import notify_critical_fail
from ..scoring.rules import ItemResult, answer_score, remembered_score, score_evaluation, score_moment
from ..scoring.values import AnswerError, ParsedValue, parse_value
from ..timeutil import to_naive_utc, utcnow
from ..visits.integrity import Inserted, insert_flags, refresh_flags
from ..visits.models import Assignment
from .models import SOURCES, Answer, Evaluation, EvaluationEvent, MomentResult, Photo

CLIENT_UUID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_NOTES = 10_000
MAX_ANSWER_NOTE = 5_000
MAX_MOMENT_NOTE = 5_000
MAX_DURATION = 86_400
EARLIEST = datetime(2000, 1, 1)
FUTURE_SLACK = timedelta(days=1)
MANAGER_ROLES = ("admin", "manager")
PAYLOAD_KEYS = ("client_uuid", "journey_id", "location_id", "source", "started_at", "finished_at", "notes", "answers",
                "durations", "moment_notes", "assignment_id", "base_revision", "language")


class SubmissionError(Exception):
    """A submission that cannot be stored; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, title: str, detail: str = "", errors: list[dict] | None = None):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors: list[dict] = errors or []


@dataclass
class SubmitResult:
    evaluation: Evaluation
    created: bool
    resubmitted: bool = False
    written: tuple | None = None  # a new evaluation's checklist, answer rows and result rows, for the notice

    @property
    def moment_rows(self) -> list[dict] | None:
        """A new evaluation's moment results as inserted, for the reply and the webhook; None: read them."""
        return self.written[2] if self.written is not None else None


@dataclass
class _Checked:
    """A payload that passed validation, ready to store."""

    client_uuid: str
    journey: Journey
    version: JourneyVersion
    checklist: Checklist  # the version's moments and questions
    location: Location
    source: str
    started_at: datetime
    finished_at: datetime | None
    notes: str
    assignment: Assignment | None
    content_hash: str
    language: str | None = None
    # (moment key, question key) -> (question, parsed value or None, note)
    answers: dict[tuple[str, str], tuple[ChecklistQuestion, ParsedValue | None, str]] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    moment_notes: dict[str, str] = field(default_factory=dict)
    photos: list[Photo] = field(default_factory=list)


def content_hash(payload: dict) -> str:
    """sha256 of the canonical JSON of the payload: sorted keys, no spaces.

    base_revision says which round a fix was made from, not what it says: the same content sent from another
    round is the same evaluation, so it is left out. So is the language the form was shown in.
    """
    content = {k: v for k, v in payload.items() if k not in ("base_revision", "language")} \
        if isinstance(payload, dict) else payload
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def submit_evaluation(org_id: int, user: User, role: str, payload: dict) -> SubmitResult:
    """Validate and store one evaluation (or answer a replay); raises SubmissionError. Flushes, never commits."""
    if not isinstance(payload, dict):
        raise SubmissionError(422, "Invalid evaluation", "The body must be a JSON object.",
                              [{"field": "body", "message": "Must be a JSON object"}])
    if role not in ("admin", "manager", "shopper", "staff"):
        raise SubmissionError(403, "Forbidden", "Your role cannot send evaluations.")
    digest = content_hash(payload)
    # New evaluations are the common case: validate, then INSERT ... ON CONFLICT DO NOTHING tells whether the
    # client_uuid was stored already (then _insert answers it as a replay). A replay that no longer validates (its
    # visit submitted, its photos attached, its location since archived) is looked up when validation fails.
    try:
        checked = _check(org_id, user, role, payload, digest)
    except SubmissionError:
        client_uuid = payload.get("client_uuid")
        existing = None
        if isinstance(client_uuid, str) and CLIENT_UUID_RE.match(client_uuid):
            existing = _find_by_uuid(org_id, client_uuid)
        if existing is None:
            raise
        result = _replay(existing, user, role, payload, digest)
    else:
        result = _insert(org_id, user, role, checked, payload)
    if result.created or result.resubmitted:  # a replay announces nothing again
        # Queued in this transaction: the caller's commit sends it, a rollback drops it (auditapp.notify).
        notify_critical_fail(result.evaluation, result.written)
        from ..webhooks.services import emit_evaluation

        # Recorded here, sent after the commit.
        emit_evaluation(result.evaluation, "evaluation.submitted", moment_rows=result.moment_rows)
    return result


# --- replays and resubmissions ----------------------------------------------------------------------------------


def _find_by_uuid(org_id: int, client_uuid: str) -> Evaluation | None:
    return db.session.scalar(select(Evaluation).where(Evaluation.org_id == org_id, Evaluation.client_uuid == client_uuid))


def _conflict() -> SubmissionError:
    return SubmissionError(409, "Conflict", "This client_uuid was already used for a different evaluation.",
                           [{"field": "client_uuid", "message": "This client_uuid was already used for a different evaluation"}])


def _replay(existing: Evaluation, user: User, role: str, payload: dict, digest: str) -> SubmitResult:
    own = existing.evaluator_id == user.id
    if existing.content_hash == digest and (own or role in MANAGER_ROLES):
        return SubmitResult(existing, created=False)
    if existing.status == "returned" and own:
        _check_base_revision(existing, payload.get("base_revision"))
        return _resubmit(existing, user, role, payload, digest)
    raise _conflict()


def _check_base_revision(existing: Evaluation, base) -> None:
    """A fix names the revision it was made from (optional): a stale fix, queued on a phone while the evaluation was
    fixed elsewhere and returned again, must not overwrite the newer round."""
    if base is None:
        return
    if isinstance(base, bool) or not isinstance(base, int):
        raise SubmissionError(422, "Invalid evaluation", "base_revision must be a whole number.",
                              [{"field": "base_revision", "message": "Must be a whole number"}])
    if base != existing.revision:
        raise SubmissionError(409, "Conflict", f"This evaluation changed since this fix was started (it is at revision "
                              f"{existing.revision} now, the fix was made from revision {base}): open it again.",
                              [{"field": "base_revision", "message": "The evaluation changed since this fix was started"}])


def _resubmit(evaluation: Evaluation, user: User, role: str, payload: dict, digest: str) -> SubmitResult:
    """A returned evaluation, fixed by its evaluator: replace its content in place and record what changed."""
    checked = _check(evaluation.org_id, user, role, payload, digest, resubmitting=evaluation)
    before = _snapshot(evaluation)
    # The old rows go in SQL: the unique (evaluation, moment_key) rows must be gone before the new ones arrive.
    db.session.execute(delete(Answer).where(Answer.evaluation_id == evaluation.id))
    db.session.execute(delete(MomentResult).where(MomentResult.evaluation_id == evaluation.id))
    for photo in db.session.scalars(select(Photo).where(Photo.evaluation_id == evaluation.id)):
        photo.evaluation_id = None  # a photo dropped from the fixed version is no longer evidence of this visit
    for photo in checked.photos:
        photo.evaluation_id = evaluation.id
    rows = _fill(evaluation, checked)
    _mark_assignment_submitted(checked)
    evaluation.revision = (evaluation.revision or 1) + 1
    evaluation.status = "submitted"
    evaluation.submitted_at = utcnow()
    db.session.flush()
    _store_rows(evaluation, rows)
    changes = _diff(before, _snapshot(evaluation))
    db.session.add(EvaluationEvent(evaluation=evaluation, user_id=user.id, action="resubmitted", changes=changes))
    record("evaluation.resubmitted", evaluation, user=user,
           summary=f"Resubmitted evaluation {evaluation.id} (revision {evaluation.revision}, {len(changes)} changes)")
    db.session.flush()
    refresh_flags(evaluation)  # integrity flags for the reviewer (auditapp.visits.integrity)
    return SubmitResult(evaluation, created=False, resubmitted=True)


def _snapshot(evaluation: Evaluation) -> dict[str, object]:
    snap: dict[str, object] = {
        "location_id": evaluation.location_id,
        "started_at": _iso(evaluation.started_at),
        "finished_at": _iso(evaluation.finished_at),
        "notes": evaluation.notes or "",
    }
    for result in evaluation.moment_results:
        snap[f"{result.moment_key}.note"] = result.note or ""
        snap[f"{result.moment_key}.duration_seconds"] = result.duration_seconds
    for answer in evaluation.answers:
        snap[f"{answer.moment_key}.{answer.question_key}"] = answer.value
        snap[f"{answer.moment_key}.{answer.question_key}.note"] = answer.note or ""
    return snap


def _diff(before: dict, after: dict) -> list[dict]:
    empty = (None, "")
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        old, new = before.get(key), after.get(key)
        if old != new and not (old in empty and new in empty):
            changes.append({"field": key, "old": old, "new": new})
    return changes


# --- validation ---------------------------------------------------------------------------------------------------


class _Errors:
    """Collects every problem as {"field", "message"}; called like a function."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def __call__(self, field_name: str, message: str) -> None:
        self.items.append({"field": field_name, "message": message})


def _check(org_id: int, user: User, role: str, payload: dict, digest: str, *,
           resubmitting: Evaluation | None = None) -> _Checked:
    err = _Errors()

    for key in payload:
        if key not in PAYLOAD_KEYS:
            err(str(key), "Unknown field")

    client_uuid = payload.get("client_uuid")
    if not isinstance(client_uuid, str) or not CLIENT_UUID_RE.match(client_uuid):
        err("client_uuid", "Must be 8 to 64 letters, digits, '-' or '_' (a UUID)")

    journey_id = _int_field(payload, "journey_id", err, required=True)
    location_id = _int_field(payload, "location_id", err, required=True)
    assignment_id = _int_field(payload, "assignment_id", err, required=False)

    membership = user.membership_in(org_id)
    source = payload.get("source")
    if source is None and role in SOURCES:
        source = role  # shoppers and staff can only send their own kind
    if source not in SOURCES:
        err("source", "Must be shopper or staff")
    elif role in SOURCES and source != role:
        err("source", f"As {'a secret shopper' if role == 'shopper' else 'staff'} you can only send {role} evaluations")

    started_at = _time_field(payload, "started_at", err, required=True)
    finished_at = _time_field(payload, "finished_at", err, required=False)
    notes = _text_field(payload, "notes", MAX_NOTES, err)

    # Unknown or foreign journeys and locations are 404 whatever else is wrong: nothing about them leaks.
    journey, location = _journey_and_location(journey_id, location_id)
    if journey_id is not None and (journey is None or journey.org_id != org_id or journey.archived
                                   or journey.current_version is None):
        raise SubmissionError(404, "Not Found", "No such journey.", [{"field": "journey_id", "message": "No such journey"}])
    if location_id is not None and (location is None or location.org_id != org_id or location.archived):
        raise SubmissionError(404, "Not Found", "No such location.", [{"field": "location_id", "message": "No such location"}])

    if role == "staff" and location is not None and membership is not None and membership.location_id \
            and membership.location_id != location.id:
        raise SubmissionError(403, "Forbidden", "Staff can only evaluate their own location.",
                              [{"field": "location_id", "message": "You can only evaluate your own location"}])

    version = None
    if journey is not None:
        version = journey.current_version
        if resubmitting is not None:
            if journey.id != resubmitting.journey_id:
                err("journey_id", "A returned evaluation keeps its journey")
            version = resubmitting.version  # fixes stay on the version that was answered

    assignment = None
    if assignment_id is not None:
        assignment = db.session.get(Assignment, assignment_id)
        if (assignment is None or assignment.org_id != org_id or assignment.shopper_id != user.id
                or (journey is not None and assignment.journey_id != journey.id)
                or (location is not None and assignment.location_id != location.id)):
            err("assignment_id", "No such visit for you at this location and journey")
            assignment = None
        elif assignment.status == "cancelled":
            err("assignment_id", "This visit was cancelled")
            assignment = None

    checked_answers: dict = {}
    durations: dict[str, float] = {}
    moment_notes: dict[str, str] = {}
    photos: list[Photo] = []
    items = None
    if version is not None:
        items = checklist(version)
        moments = {m.key: m for m in items.moments}
        checked_answers, photos = _check_answers(org_id, user, moments, payload.get("answers"), err,
                                                 resubmitting=resubmitting)
        durations = _check_durations(moments, payload.get("durations"), err)
        moment_notes = _check_moment_notes(moments, payload.get("moment_notes"), err)
    elif not isinstance(payload.get("answers"), list):
        err("answers", "Must be a list of answers")

    language = _language_field(payload.get("language"), version, err)
    if err.items:
        raise SubmissionError(422, "Invalid evaluation", f"{len(err.items)} problem(s) in the evaluation.", err.items)
    return _Checked(language=language, client_uuid=client_uuid, journey=journey, version=version, checklist=items,
                    location=location, source=source,
                    started_at=started_at, finished_at=finished_at, notes=notes, assignment=assignment,
                    content_hash=digest, answers=checked_answers, durations=durations, moment_notes=moment_notes,
                    photos=photos)


def _language_field(value, version: JourneyVersion | None, err) -> str | None:
    if value is None or value == "":
        return None
    codes = [code for code, _ in version_languages(version)] if version is not None else []
    if not isinstance(value, str) or (version is not None and value not in codes):
        err("language", f"Must be one of this journey's languages: {', '.join(codes)}" if codes
            else "Must be a language code")
        return None
    return value


REQUIRED_VERDICT = "Required: choose miserable, neutral or magical"
REQUIRED_ANSWER = "Required: answer it, or choose N/A if it does not apply"


def _int_field(payload: dict, name: str, err, *, required: bool) -> int | None:
    raw = payload.get(name)
    if raw is None or raw == "":
        if required:
            err(name, "Required")
        return None
    if isinstance(raw, bool):
        err(name, "Must be a whole number")
        return None
    if isinstance(raw, int) and -MAX_ID <= raw <= MAX_ID:  # a database id; a larger number cannot even be looked up
        return raw
    if isinstance(raw, str) and (value := parse_id(raw)) is not None:
        return value
    err(name, "Must be a whole number")
    return None


def parse_time(raw: object) -> datetime:
    """ISO 8601 text -> naive UTC (an offset is converted, no offset means UTC); raises ValueError."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("Must be a date and time in ISO 8601, e.g. 2024-05-01T14:30:00Z")
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError("Must be a date and time in ISO 8601, e.g. 2024-05-01T14:30:00Z") from None
    try:
        return to_naive_utc(value)
    except OverflowError:  # year 1 or 9999 with an offset: outside what a datetime holds, so far out of range
        return datetime.min if value.year < 2000 else datetime.max


def _time_field(payload: dict, name: str, err, *, required: bool) -> datetime | None:
    raw = payload.get(name)
    if raw is None or raw == "":
        if required:
            err(name, "Required")
        return None
    try:
        value = parse_time(raw)
    except ValueError as error:
        err(name, str(error))
        return None
    if value < EARLIEST:
        err(name, "Must not be before 2000-01-01")
        return None
    if value > utcnow() + FUTURE_SLACK:
        err(name, "Must not be in the future")
        return None
    return value


def _text_field(payload: dict, name: str, limit: int, err) -> str:
    raw = payload.get(name)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        err(name, "Must be text")
        return ""
    if len(raw) > limit:
        err(name, f"Too long (at most {limit} characters)")
        return ""
    return raw


def _check_answers(org_id: int, user: User, moments: dict[str, ChecklistMoment], raw_answers, err, *,
                   resubmitting: Evaluation | None):
    found: dict[tuple[str, str], tuple[ChecklistQuestion, ParsedValue | None, str]] = {}
    photos: list[Photo] = []
    if raw_answers is None:
        raw_answers = []
    if not isinstance(raw_answers, list):
        err("answers", "Must be a list of answers")
        raw_answers = []
    questions = {(m.key, q.key): q for m in moments.values() for q in m.questions}
    if len(raw_answers) > len(questions):  # one message, not one "Answered twice" per extra answer
        err("answers", f"Too many answers ({len(raw_answers)}): this journey has {len(questions)} questions, "
                       "each answered at most once")
        return found, photos
    for index, item in enumerate(raw_answers):
        if not isinstance(item, dict) or not isinstance(item.get("moment"), str) or not isinstance(item.get("question"), str):
            err("answers", f"Answer {index + 1} must be an object with text 'moment' and 'question' keys")
            continue
        extra = set(item) - {"moment", "question", "value", "note"}
        name = f"answers.{item['moment']}.{item['question']}"
        if extra:
            err(name, "Unknown field(s): " + ", ".join(sorted(map(str, extra))))
        key = (item["moment"], item["question"])
        if item["moment"] not in moments:
            err(name, f"Unknown moment '{item['moment']}'")
            continue
        question = questions.get(key)
        if question is None:
            err(name, f"Unknown question '{item['question']}' in moment '{item['moment']}'")
            continue
        if key in found:
            err(name, "Answered twice")
            continue
        note = item.get("note")
        if note is None:
            note = ""
        if not isinstance(note, str):
            err(name, "The note must be text")
            note = ""
        elif len(note) > MAX_ANSWER_NOTE:
            err(name, f"The note is too long (at most {MAX_ANSWER_NOTE} characters)")
        try:
            value = parse_value(question.type, item.get("value"), options=question.option_specs,
                                is_verdict=question.key == VERDICT_KEY)
        except AnswerError as error:
            message = str(error)
            err(name, message[:1].upper() + message[1:])
            found[key] = (question, None, note)  # known: not "missing" as well
            continue
        if value is not None and question.type == "photo" and not value.na:
            photo = _own_photo(org_id, user, value.text, resubmitting)
            if photo is None:
                err(name, "Unknown photo: upload it first")
                value = None
            else:
                photos.append(photo)
        found[key] = (question, value, note)
    reported = {e["field"] for e in err.items}
    for moment in moments.values():
        for question in moment.questions:
            name = f"answers.{moment.key}.{question.key}"
            entry = found.get((moment.key, question.key))
            if question.required and (entry is None or entry[1] is None) and name not in reported:
                err(name, REQUIRED_VERDICT if question.key == VERDICT_KEY else REQUIRED_ANSWER)
    return found, photos


def _own_photo(org_id: int, user: User, public_id: str | None, resubmitting: Evaluation | None) -> Photo | None:
    """The user's uploaded photo, not yet used by another evaluation."""
    photo = db.session.scalar(select(Photo).where(Photo.public_id == (public_id or ""), Photo.org_id == org_id))
    if photo is None or photo.uploader_id != user.id:
        return None
    if photo.evaluation_id is not None and (resubmitting is None or photo.evaluation_id != resubmitting.id):
        return None
    return photo


def _check_durations(moments: dict[str, ChecklistMoment], raw, err) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        err("durations", "Must be an object of moment key to seconds")
        return {}
    durations = {}
    for key, seconds in raw.items():
        name = f"durations.{key}"
        if key not in moments:
            err(name, f"Unknown moment '{key}'")
        elif seconds is None:
            continue
        elif (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds)
              or not 0 <= seconds <= MAX_DURATION):
            err(name, f"Must be a number of seconds from 0 to {MAX_DURATION}")
        else:
            durations[key] = float(seconds)
    return durations


def _check_moment_notes(moments: dict[str, ChecklistMoment], raw, err) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        err("moment_notes", "Must be an object of moment key to text")
        return {}
    notes = {}
    for key, text in raw.items():
        name = f"moment_notes.{key}"
        if key not in moments:
            err(name, f"Unknown moment '{key}'")
        elif text is None:
            continue
        elif not isinstance(text, str):
            err(name, "Must be text")
        elif len(text) > MAX_MOMENT_NOTE:
            err(name, f"Too long (at most {MAX_MOMENT_NOTE} characters)")
        else:
            notes[key] = text
    return notes


# --- storing ------------------------------------------------------------------------------------------------------


def _journey_and_location(journey_id: int | None, location_id: int | None) -> tuple[Journey | None, Location | None]:
    """The journey (with its current version) and the location a submission names, in one query when both exist
    (every valid submission); read one by one otherwise, so the caller can tell which is missing."""
    if journey_id is not None and location_id is not None:
        row = db.session.execute(
            select(Journey, Location).join(Location, true()).where(Journey.id == journey_id, Location.id == location_id)
            .options(joinedload(Journey.current_version))
        ).first()
        if row is not None:
            return row[0], row[1]
    journey = None if journey_id is None else db.session.get(Journey, journey_id,
                                                             options=[joinedload(Journey.current_version)])
    location = None if location_id is None else db.session.get(Location, location_id)
    return journey, location


def _insert(org_id: int, user: User, role: str, checked: _Checked, payload: dict) -> SubmitResult:
    # Every column set here (none left to a default), so the object can stand for the row without reading it back.
    evaluation = Evaluation(org_id=org_id, client_uuid=checked.client_uuid, evaluator_id=user.id, status="submitted",
                            revision=1, submitted_at=utcnow(), assignment_id=None, review_comment="",
                            reviewed_by_id=None, reviewed_at=None)
    rows = _fill(evaluation, checked)
    values = {column: getattr(evaluation, column) for column in _EVALUATION_COLUMNS}
    evaluation_id = _insert_unless_stored(values)
    if evaluation_id is None:
        # The client_uuid is stored already (an earlier send, or a concurrent twin that got there first): a replay
        # of it, a fix of a returned evaluation, or a conflict. Nothing of this request was written.
        existing = _find_by_uuid(org_id, checked.client_uuid)
        if existing is None:
            raise RuntimeError(f"client_uuid {checked.client_uuid!r} conflicted but no evaluation holds it")
        return _replay(existing, user, role, payload, checked.content_hash)
    _attach_inserted(evaluation, evaluation_id, values)
    _mark_assignment_submitted(checked)
    _store_rows(evaluation, rows)
    for photo in checked.photos:
        photo.evaluation_id = evaluation.id
    # Core INSERTs for the event, the audit entry and the flags: the ORM's unit of work was a third of the CPU.
    db.session.execute(insert(EvaluationEvent.__table__),
                       {"evaluation_id": evaluation.id, "user_id": user.id, "action": "submitted"})
    score = "no score" if evaluation.score is None else f"score {evaluation.score:.0f}"
    record_at_once("evaluation.submitted", evaluation, user=user,
                   summary=f"{checked.source.title()} evaluation of {checked.journey.name} at {checked.location.name} ({score})")
    # Integrity flags for the reviewer (auditapp.visits.integrity), from the rows just written, not read back.
    insert_flags(evaluation, _inserted(checked, rows))
    return SubmitResult(evaluation, created=True, written=(checked.checklist, rows.answers, rows.results))


# The evaluation's columns but its id, by attribute name (they are the column names).
_EVALUATION_COLUMNS = tuple(attr.key for attr in inspect(Evaluation).column_attrs if attr.key != "id")
_INSERT_BY_DIALECT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _insert_unless_stored(values: dict) -> int | None:
    """INSERT the evaluation unless its organisation already holds its client_uuid: its new id, or None.

    ON CONFLICT DO NOTHING on the unique (org_id, client_uuid), not a savepoint around an ORM flush: no SAVEPOINT and
    RELEASE, and no savepoint to roll back. PostgreSQL waits for a concurrent twin's transaction as it did for the
    unique index; SQLite has one writer, so a twin is committed by then. pysqlite opens the transaction itself
    before this INSERT, so the caller's commit or rollback decides.
    """
    statement = _insert_unless_stored_statement(db.session.connection().dialect.name)
    return db.session.execute(statement, values).scalar()


@functools.cache
def _insert_unless_stored_statement(dialect_name: str):
    # Built once: the values come as parameters, so building and caching a new statement per request is saved.
    table = Evaluation.__table__
    return (_INSERT_BY_DIALECT[dialect_name](table)
            .on_conflict_do_nothing(index_elements=[table.c.org_id, table.c.client_uuid])
            .returning(table.c.id))


def _attach_inserted(evaluation: Evaluation, evaluation_id: int, values: dict) -> None:
    """Make the object the session's copy of the row just inserted, as if it had been loaded: its columns are the
    values inserted, its journey, version and location the objects it holds; its collections load when read."""
    for column, value in values.items():
        set_committed_value(evaluation, column, value)
    evaluation.id = evaluation_id
    make_transient_to_detached(evaluation)
    db.session.add(evaluation)


def _mark_assignment_submitted(checked: _Checked) -> None:
    # Only once the evaluation is stored: a request answered as a replay must leave the visit as it is.
    if checked.assignment is not None:
        checked.assignment.status = "submitted"


def _inserted(checked: _Checked, rows: _Rows) -> Inserted:
    return Inserted(
        moments=checked.checklist.moments,
        durations=[row["duration_seconds"] for row in rows.results],
        moment_notes=[(row["moment_key"], row["note"]) for row in rows.results],
        answers=[(row["moment_key"], row["question_key"], row["note"], row["value"],
                  checked.answers[(row["moment_key"], row["question_key"])][0].type) for row in rows.answers],
        photo_hashes={photo.sha256 for photo in checked.photos})


@dataclass(slots=True)
class _Rows:
    """An evaluation's answers and per-moment results as plain rows, inserted in one statement each."""

    answers: list[dict]
    results: list[dict]


def _fill(evaluation: Evaluation, checked: _Checked) -> _Rows:
    """Set the evaluation's content and scores from a checked payload; its answers and per-moment results come back
    as rows for _store_rows (one multi-row INSERT each, not one INSERT per answer as the ORM would do)."""
    # The objects, not only their ids: the evaluation then holds them, and the notice, the webhook and the reply
    # find them loaded (the session's identity map holds objects weakly).
    evaluation.journey, evaluation.journey_id = checked.journey, checked.journey.id
    evaluation.version, evaluation.version_id = checked.version, checked.version.id
    evaluation.location, evaluation.location_id = checked.location, checked.location.id
    evaluation.source = checked.source
    evaluation.started_at = checked.started_at
    evaluation.finished_at = checked.finished_at
    evaluation.notes = checked.notes
    evaluation.language = checked.language
    evaluation.content_hash = checked.content_hash
    if checked.assignment is not None:
        evaluation.assignment_id = checked.assignment.id
    answers, results = [], []
    moment_scores: list[tuple[float, float | None]] = []
    for position, moment in enumerate(checked.checklist.moments):
        items = []
        verdict = None
        for question in moment.questions:
            entry = checked.answers.get((moment.key, question.key))
            if entry is None:
                continue
            _, value, note = entry
            score = answer_score(question.type, value, options=question.option_specs, target=question.target)
            if value is not None or note:
                answers.append({
                    "question_id": question.id, "moment_key": moment.key, "question_key": question.key,
                    "value": value.text if value is not None else None,
                    "number": value.number if value is not None else None, "score": score, "note": note})
            if score is not None:
                items.append(ItemResult(weight=question.weight, fraction=score, critical=question.critical))
            if question.key == VERDICT_KEY and value is not None and not value.na:
                verdict = value.text
        result = score_moment(items)
        results.append({
            "moment_id": moment.id, "moment_key": moment.key, "position": position, "score": result.score,
            "critical_fail": result.critical_fail, "verdict": verdict,
            "duration_seconds": checked.durations.get(moment.key), "note": checked.moment_notes.get(moment.key, "")})
        moment_scores.append((moment.weight, result.score))
    evaluation.score = score_evaluation(moment_scores)
    evaluation.remembered_score = remembered_score([score for _, score in moment_scores])
    return _Rows(answers, results)


def _store_rows(evaluation: Evaluation, rows: _Rows) -> None:
    """Insert the rows of a flushed evaluation (it has its id); its collections load afresh when next read."""
    for table, items in ((Answer, rows.answers), (MomentResult, rows.results)):
        if items:
            # The Core table, not the ORM entity: one executemany, where the ORM's bulk path groups rows by their
            # None values and sends several statements.
            db.session.execute(insert(table.__table__), [{**item, "evaluation_id": evaluation.id} for item in items])
    db.session.expire(evaluation, ["answers", "moment_results"])


# --- reading ------------------------------------------------------------------------------------------------------


def visible_evaluations(org_id: int, user: User, role: str | None) -> Select:
    """SELECT of the evaluations this user may see: managers all of the organisation, shoppers their own, staff
    those of their location (their own only when they have no location), location and regional managers the
    approved secret-shopper evaluations of their own places (places.py)."""
    query = select(Evaluation).where(Evaluation.org_id == org_id)
    if role in MANAGER_ROLES:
        return query
    if role in PLACE_ROLES:
        from ..places import SCOPED_SOURCE, SCOPED_STATUSES
        from ..tenancy import scope_of

        scope = scope_of(user.membership_in(org_id))
        return query.where(Evaluation.source == SCOPED_SOURCE, Evaluation.status.in_(SCOPED_STATUSES),
                           Evaluation.location_id.in_(sorted(scope.location_ids) or [-1]))
    if role == "shopper":
        return query.where(Evaluation.evaluator_id == user.id)
    if role == "staff":
        membership = user.membership_in(org_id)
        if membership is not None and membership.location_id:
            return query.where(Evaluation.location_id == membership.location_id)
        return query.where(Evaluation.evaluator_id == user.id)
    return query.where(false())


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def evaluation_to_dict(evaluation: Evaluation, *, with_answers: bool, moment_rows: list[dict] | None = None) -> dict:
    """The API representation; times in ISO 8601 UTC with Z, scores unrounded.

    `moment_rows`: a new evaluation's moment results as the service inserted them (SubmitResult.moment_rows), so
    the reply does not read them back; they are what a read would give, in position order."""
    if moment_rows is None:
        moment_rows = [{"moment_key": r.moment_key, "score": r.score, "critical_fail": r.critical_fail,
                        "verdict": r.verdict, "duration_seconds": r.duration_seconds, "note": r.note}
                       for r in evaluation.moment_results]
    data = {
        "id": evaluation.id,
        "client_uuid": evaluation.client_uuid,
        "journey_id": evaluation.journey_id,
        "location_id": evaluation.location_id,
        "source": evaluation.source,
        "status": evaluation.status,
        "started_at": _iso(evaluation.started_at),
        "finished_at": _iso(evaluation.finished_at),
        "submitted_at": _iso(evaluation.submitted_at),
        "notes": evaluation.notes or "",
        "language": evaluation.language,
        "score": evaluation.score,
        "remembered_score": evaluation.remembered_score,
        "version": evaluation.version.number if evaluation.version is not None else None,
        "revision": evaluation.revision,
        "assignment_id": evaluation.assignment_id,
        "moments": [
            {"key": r["moment_key"], "score": r["score"], "critical_fail": bool(r["critical_fail"]),
             "verdict": r["verdict"], "duration_seconds": r["duration_seconds"], "note": r["note"] or ""}
            for r in moment_rows
        ],
    }
    if with_answers:
        data["answers"] = [
            {"moment": a.moment_key, "question": a.question_key, "value": _answer_value(a), "note": a.note or "",
             "score": a.score}
            for a in _answers_in_order(evaluation)
        ]
    return data


def _answer_value(answer: Answer):
    """Ratings and numbers go back out as JSON numbers, everything else as its canonical text."""
    if answer.number is not None and answer.value != "na":
        return int(answer.number) if float(answer.number).is_integer() else answer.number
    return answer.value


def _answers_in_order(evaluation: Evaluation) -> list[Answer]:
    positions = {r.moment_key: r.position for r in evaluation.moment_results}
    return sorted(evaluation.answers,
                  key=lambda a: (positions.get(a.moment_key, 0), a.question.position if a.question else 0, a.id or 0))
