"""Integrity flags for the reviewer: signs that a visit may not have happened as reported.

`refresh_flags(evaluation)` recomputes an evaluation's flags and replaces the stored ones; the submission service
calls it for every resubmitted evaluation, and `insert_flags` for every new one. Each look-up across the
organisation is one indexed query (photo sha256, note digest), never a scan of all evaluations. The flags are
warnings for a person, not verdicts.

A just-inserted evaluation passes `inserted=Inserted(...)`: the rows the service has just written, so the checks
read them from memory instead of loading the answers back, and skip what a new evaluation cannot have (old
fingerprints, old flags, an earlier "submitted" event). The findings are the same either way. Fingerprints and the
flags of a new evaluation go in with Core INSERTs, not ORM objects: the unit of work cost more than the checks.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from ..evaluations.models import Evaluation, EvaluationEvent, EvaluationFlag, Photo
from ..extensions import db
from ..i18n import N_
from ..journeys.models import Moment, Question
from ..timeutil import to_local
from .models import NoteFingerprint

SHORT_VISIT_SHARE = 0.4  # under 40 % of the journey's expected duration
LATE_AFTER = timedelta(hours=48)
MIN_NOTE_CHARS = 20  # shorter notes ("all good", "friendly staff") repeat honestly

FLAG_LABELS = {  # pages translate them where they show them: _(label)
    "short_visit": N_("Short visit"),
    "reused_photo": N_("Reused photo"),
    "late_submission": N_("Sent late"),
    "finished_before_start": N_("Finished before start"),
    "outside_window": N_("Outside the visit window"),
    "copied_note": N_("Copied note"),
}


@dataclass(frozen=True, slots=True)
class FlagFinding:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Inserted:
    """A new evaluation's content as the submission service inserted it (it is not read back)."""

    moments: tuple  # the version's moments (key, name, expected_seconds): auditapp.journeys.checklist
    durations: list[float | None]  # of each moment result
    moment_notes: list[tuple[str, str]]  # (moment key, note) of each moment result, in position order
    answers: list[tuple[str, str, str, str | None, str]]  # (moment key, question key, note, value, question type)
    photo_hashes: set[str]


def normalise_note(text: str | None) -> str:
    """Trimmed, inner whitespace collapsed, case-folded: the form two notes are compared in."""
    return " ".join((text or "").split()).casefold()


def note_digest(text: str | None) -> str | None:
    """sha256 of the normalised note, or None for notes too short to count as copied."""
    normal = normalise_note(text)
    if len(normal) < MIN_NOTE_CHARS:
        return None
    return hashlib.sha256(normal.encode()).hexdigest()


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{seconds:.0f} s"


# --- the individual checks ------------------------------------------------------------------------------------


def check_short_visit(evaluation: Evaluation, inserted: Inserted | None = None) -> FlagFinding | None:
    """Every known measure of the visit (stopwatch total, finished - started) under 40 % of the expected time."""
    expected = sum(m.expected_seconds or 0 for m in _moments(evaluation, inserted))
    if not expected:
        return None
    measures = []
    durations = inserted.durations if inserted is not None else [r.duration_seconds for r in evaluation.moment_results]
    recorded = [seconds for seconds in durations if seconds is not None]
    if recorded:
        measures.append(sum(recorded))
    if evaluation.finished_at and evaluation.started_at and evaluation.finished_at >= evaluation.started_at:
        measures.append((evaluation.finished_at - evaluation.started_at).total_seconds())
    if not measures:
        return None
    took = max(measures)  # the longest measure: a stopwatch used on only some moments must not raise a flag
    if took >= SHORT_VISIT_SHARE * expected:
        return None
    return FlagFinding("short_visit", f"The visit took {_minutes(took)}; the journey's moments usually take "
                                      f"{_minutes(expected)} (under {SHORT_VISIT_SHARE:.0%}).")


def check_finished_before_start(evaluation: Evaluation) -> FlagFinding | None:
    if evaluation.finished_at and evaluation.started_at and evaluation.finished_at < evaluation.started_at:
        return FlagFinding("finished_before_start", "The finish time is before the start time.")
    return None


def first_submitted_at(evaluation: Evaluation) -> datetime | None:
    """When it was first sent: a fix sent again later is not a late visit report."""
    first = db.session.scalar(
        select(EvaluationEvent.at).where(EvaluationEvent.evaluation_id == evaluation.id,
                                         EvaluationEvent.action == "submitted").order_by(EvaluationEvent.at).limit(1)
    ) if evaluation.id else None
    candidates = [t for t in (first, evaluation.submitted_at) if t is not None]
    return min(candidates) if candidates else None


def check_late_submission(evaluation: Evaluation, inserted: Inserted | None = None) -> FlagFinding | None:
    visit_end = evaluation.finished_at or evaluation.started_at
    # A new evaluation's only "submitted" event is stamped after its submitted_at: the earlier of the two is that.
    sent = evaluation.submitted_at if inserted is not None else first_submitted_at(evaluation)
    if visit_end is None or sent is None or sent - visit_end <= LATE_AFTER:
        return None
    hours = (sent - visit_end).total_seconds() / 3600
    delay = f"{hours / 24:.0f} days" if hours >= 72 else f"{hours:.0f} hours"
    return FlagFinding("late_submission", f"Sent {delay} after the visit; memories fade after two days.")


def check_outside_window(evaluation: Evaluation, tz_name: str | None) -> FlagFinding | None:
    assignment = evaluation.assignment
    if assignment is None or evaluation.started_at is None:
        return None
    day = to_local(evaluation.started_at, tz_name).date()
    if assignment.window_start <= day <= assignment.window_end:
        return None
    return FlagFinding("outside_window", f"The visit started on {day.isoformat()}, outside its window "
                                         f"{assignment.window_start.isoformat()} to {assignment.window_end.isoformat()}.")


def check_reused_photo(evaluation: Evaluation, inserted: Inserted | None = None) -> FlagFinding | None:
    hashes = inserted.photo_hashes if inserted is not None else \
        set(db.session.scalars(select(Photo.sha256).where(Photo.evaluation_id == evaluation.id)))
    if not hashes:
        return None
    other = db.session.scalar(
        select(Photo.evaluation_id).where(Photo.org_id == evaluation.org_id, Photo.sha256.in_(hashes),
                                          Photo.evaluation_id.is_not(None), Photo.evaluation_id != evaluation.id)
        .order_by(Photo.evaluation_id).limit(1)
    )
    if other is None:
        return None
    return FlagFinding("reused_photo", f"A photo is the same picture as one in evaluation #{other}.")


def note_places(evaluation: Evaluation, inserted: Inserted | None = None) -> list[tuple[str, str]]:
    """(where, text) of every note in the evaluation: overall, per moment, per answer."""
    names = {m.key: m.name for m in _moments(evaluation, inserted)}
    if inserted is not None:
        moment_notes, answers = inserted.moment_notes, inserted.answers
    else:
        moment_notes = [(r.moment_key, r.note) for r in evaluation.moment_results]
        stored = evaluation.answers
        # Their questions in one query, held here so that answer.question finds them (not one query per answer).
        held = list(db.session.scalars(select(Question).where(Question.id.in_({a.question_id for a in stored}))))  # noqa: F841
        answers = [(a.moment_key, a.question_key, a.note, a.value, a.question.type if a.question is not None else None)
                   for a in stored]
    places = [("the overall notes", evaluation.notes or "")]
    places += [(f"the note on {names.get(key, key)}", note or "") for key, note in moment_notes]
    for moment_key, question_key, note, value, question_type in answers:
        where = f"the note on {names.get(moment_key, moment_key)}: {question_key}"
        places.append((where, note or ""))
        if question_type == "text":
            places.append((where, value or ""))
    return places


def store_fingerprints(evaluation: Evaluation, inserted: Inserted | None = None) -> list[tuple[str, str]]:
    """Replace the evaluation's note digests (they follow its latest revision); (digest, place) of each."""
    if inserted is None:  # a new evaluation has none yet
        # No ORM synchronisation: it would scan every object in the session (slow when a script submits hundreds).
        db.session.execute(delete(NoteFingerprint).where(NoteFingerprint.evaluation_id == evaluation.id)
                           .execution_options(synchronize_session=False))
    by_digest: dict[str, str] = {}
    for where, text in note_places(evaluation, inserted):
        digest = note_digest(text)
        if digest and digest not in by_digest:
            by_digest[digest] = where[:200]
    if by_digest:
        db.session.execute(insert(NoteFingerprint.__table__),
                           [{"org_id": evaluation.org_id, "evaluation_id": evaluation.id, "digest": digest, "place": place}
                            for digest, place in by_digest.items()])
    return list(by_digest.items())


def check_copied_note(evaluation: Evaluation, fingerprints: list[tuple[str, str]]) -> FlagFinding | None:
    """A note of 20+ characters word for word the same as one in an earlier evaluation of the organisation."""
    if not fingerprints:
        return None
    by_digest = dict(fingerprints)
    match = db.session.execute(
        select(NoteFingerprint.digest, NoteFingerprint.evaluation_id)
        .where(NoteFingerprint.org_id == evaluation.org_id, NoteFingerprint.digest.in_(by_digest),
               NoteFingerprint.evaluation_id < evaluation.id)
        .order_by(NoteFingerprint.evaluation_id).limit(1)
    ).first()
    if match is None:
        return None
    place = by_digest[match.digest]
    return FlagFinding("copied_note", f"Text in {place} is word for word the same as a note in evaluation "
                                      f"#{match.evaluation_id}.")


# --- all together ---------------------------------------------------------------------------------------------


def _moments(evaluation: Evaluation, inserted: Inserted | None = None) -> list:
    if inserted is not None:
        return list(inserted.moments)
    if evaluation.version is not None:
        return list(evaluation.version.moments)
    return list(db.session.scalars(select(Moment).where(Moment.version_id == evaluation.version_id)))


def _timezone(evaluation: Evaluation) -> str | None:
    from ..auth.models import Organisation

    org = db.session.get(Organisation, evaluation.org_id)
    return org.timezone if org else None


def find_flags(evaluation: Evaluation, inserted: Inserted | None = None) -> list[FlagFinding]:
    """Every finding for a flushed evaluation, in a fixed order (stores its note fingerprints on the way)."""
    fingerprints = store_fingerprints(evaluation, inserted)
    checks = [
        check_short_visit(evaluation, inserted),
        check_finished_before_start(evaluation),
        check_late_submission(evaluation, inserted),
        # The organisation's time zone only matters for a visit with a window (its organisation is read for it).
        check_outside_window(evaluation, _timezone(evaluation)) if evaluation.assignment_id is not None else None,
        check_reused_photo(evaluation, inserted),
        check_copied_note(evaluation, fingerprints),
    ]
    return [finding for finding in checks if finding is not None]


def refresh_flags(evaluation: Evaluation) -> list[EvaluationFlag]:
    """Recompute the evaluation's integrity flags and replace the stored ones. Flushes, never commits."""
    findings = find_flags(evaluation)
    for flag in list(evaluation.flags):
        evaluation.flags.remove(flag)
    db.session.flush()
    flags = [EvaluationFlag(code=f.code, detail=f.detail) for f in findings]
    evaluation.flags.extend(flags)
    db.session.flush()
    return flags


def insert_flags(evaluation: Evaluation, inserted: Inserted) -> list[FlagFinding]:
    """The integrity flags of a just-inserted evaluation, in one INSERT (it has none to replace); its `flags`
    collection loads them when it is read."""
    findings = find_flags(evaluation, inserted)
    if findings:
        db.session.execute(insert(EvaluationFlag.__table__),
                           [{"evaluation_id": evaluation.id, "code": f.code, "detail": f.detail} for f in findings])
    return findings


def flag_label(code: str) -> str:
    return FLAG_LABELS.get(code, code.replace("_", " ").capitalize())
