"""Integrity flags for the reviewer: signs that a visit may not have happened as reported.

`refresh_flags(evaluation)` recomputes an evaluation's flags and replaces the stored ones; the submission service
calls it for every new or resubmitted evaluation. Each look-up across the organisation is one indexed query
(photo sha256, note digest), never a scan of all evaluations. The flags are warnings for a person, not verdicts.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from ..evaluations.models import Evaluation, EvaluationEvent, EvaluationFlag, Photo
from ..extensions import db
from ..i18n import N_
from ..journeys.models import Moment
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


def check_short_visit(evaluation: Evaluation) -> FlagFinding | None:
    """Every known measure of the visit (stopwatch total, finished - started) under 40 % of the expected time."""
    expected = sum(m.expected_seconds or 0 for m in _moments(evaluation))
    if not expected:
        return None
    measures = []
    recorded = [r.duration_seconds for r in evaluation.moment_results if r.duration_seconds is not None]
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


def check_late_submission(evaluation: Evaluation) -> FlagFinding | None:
    visit_end = evaluation.finished_at or evaluation.started_at
    sent = first_submitted_at(evaluation)
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


def check_reused_photo(evaluation: Evaluation) -> FlagFinding | None:
    hashes = set(db.session.scalars(select(Photo.sha256).where(Photo.evaluation_id == evaluation.id)))
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


def note_places(evaluation: Evaluation) -> list[tuple[str, str]]:
    """(where, text) of every note in the evaluation: overall, per moment, per answer."""
    names = {m.key: m.name for m in _moments(evaluation)}
    places = [("the overall notes", evaluation.notes or "")]
    places += [(f"the note on {names.get(r.moment_key, r.moment_key)}", r.note or "") for r in evaluation.moment_results]
    for answer in evaluation.answers:
        where = f"the note on {names.get(answer.moment_key, answer.moment_key)}: {answer.question_key}"
        places.append((where, answer.note or ""))
        if answer.question is not None and answer.question.type == "text":
            places.append((where, answer.value or ""))
    return places


def store_fingerprints(evaluation: Evaluation) -> list[NoteFingerprint]:
    """Replace the evaluation's note digests (they follow its latest revision)."""
    # No ORM synchronisation: it would scan every object in the session (slow when a script submits hundreds).
    db.session.execute(delete(NoteFingerprint).where(NoteFingerprint.evaluation_id == evaluation.id)
                       .execution_options(synchronize_session=False))
    seen: set[str] = set()
    rows = []
    for where, text in note_places(evaluation):
        digest = note_digest(text)
        if digest and digest not in seen:
            seen.add(digest)
            rows.append(NoteFingerprint(org_id=evaluation.org_id, evaluation_id=evaluation.id, digest=digest,
                                        place=where[:200]))
    db.session.add_all(rows)
    return rows


def check_copied_note(evaluation: Evaluation, fingerprints: list[NoteFingerprint]) -> FlagFinding | None:
    """A note of 20+ characters word for word the same as one in an earlier evaluation of the organisation."""
    if not fingerprints:
        return None
    by_digest = {f.digest: f.place for f in fingerprints}
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


def _moments(evaluation: Evaluation) -> list[Moment]:
    if evaluation.version is not None:
        return list(evaluation.version.moments)
    return list(db.session.scalars(select(Moment).where(Moment.version_id == evaluation.version_id)))


def find_flags(evaluation: Evaluation) -> list[FlagFinding]:
    """Every finding for a flushed evaluation, in a fixed order (stores its note fingerprints on the way)."""
    from ..auth.models import Organisation

    org = db.session.get(Organisation, evaluation.org_id)
    fingerprints = store_fingerprints(evaluation)
    db.session.flush()
    checks = [
        check_short_visit(evaluation),
        check_finished_before_start(evaluation),
        check_late_submission(evaluation),
        check_outside_window(evaluation, org.timezone if org else None),
        check_reused_photo(evaluation),
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


def flag_label(code: str) -> str:
    return FLAG_LABELS.get(code, code.replace("_", " ").capitalize())
