"""Journey versions: where an edit goes, publishing and discarding drafts. Services flush; callers commit.

Journey.current_version is the published version that shoppers and staff answer. An edit goes to:
1. the journey's draft version, when there is one;
2. else the current version itself, when nobody has answered it yet (nothing collected can change);
3. else a new draft, a copy of the current version numbered one higher.
"Publish" makes the draft current (the old version is retired); "discard" deletes the draft. Evaluations point at
the exact version they answered, so retired versions and their questions stay as they were.
"""
from __future__ import annotations

from sqlalchemy import exists, func, select

from ..audit import record
from ..extensions import db
from ..timeutil import utcnow
from .models import Journey, JourneyVersion, Moment, Question

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"


class VersionError(Exception):
    """A version operation that cannot be done; the message says why, for the manager."""


def draft_version(journey: Journey) -> JourneyVersion | None:
    return db.session.scalar(
        select(JourneyVersion).where(JourneyVersion.journey_id == journey.id, JourneyVersion.status == DRAFT)
        .order_by(JourneyVersion.number.desc()).limit(1)
    )


def working_version(journey: Journey) -> JourneyVersion | None:
    """What the builder shows: the draft when there is one, else the published version."""
    return draft_version(journey) or journey.current_version


def has_unpublished_changes(journey: Journey) -> bool:
    return draft_version(journey) is not None


def _evaluation_models():
    """Imported late: the evaluations package imports journey services, which import this module."""
    from ..evaluations.models import Answer, Evaluation, MomentResult

    return Answer, Evaluation, MomentResult


def version_has_evaluations(version: JourneyVersion) -> bool:
    _, Evaluation, _ = _evaluation_models()
    return bool(db.session.scalar(select(exists().where(Evaluation.version_id == version.id))))


def editable_version(journey: Journey, *, user_id: int | None = None) -> JourneyVersion:
    """The version an edit goes to (see the module docstring); may create a new draft."""
    draft = draft_version(journey)
    if draft is not None:
        return draft
    current = journey.current_version
    if current is None:  # a journey always has a draft or a current version; repair rather than fail
        return new_empty_draft(journey, user_id=user_id)
    if not version_has_evaluations(current):
        return current
    return clone_version(journey, current, user_id=user_id)


def _next_number(journey: Journey) -> int:
    highest = db.session.scalar(select(func.max(JourneyVersion.number)).where(JourneyVersion.journey_id == journey.id))
    return (highest or 0) + 1


def new_empty_draft(journey: Journey, *, user_id: int | None = None) -> JourneyVersion:
    version = JourneyVersion(journey_id=journey.id, number=_next_number(journey), status=DRAFT, created_by_id=user_id)
    db.session.add(version)
    db.session.flush()
    return version


def clone_version(journey: Journey, source: JourneyVersion, *, user_id: int | None = None) -> JourneyVersion:
    """A new draft with a copy of every moment and question of `source` (keys kept, so results still join)."""
    version = JourneyVersion(journey_id=journey.id, number=_next_number(journey), status=DRAFT, created_by_id=user_id)
    version.moments = [_copy_moment(m) for m in source.moments]
    db.session.add(version)
    db.session.flush()
    record("version.draft", journey, summary=f"Draft version {version.number} of '{journey.name}' started "
                                             f"from version {source.number}",
           detail={"version": version.number, "from": source.number})
    return version


def _copy_moment(moment: Moment) -> Moment:
    copy = Moment(key=moment.key, name=moment.name, description=moment.description, channel=moment.channel,
                  kind=moment.kind, priority=moment.priority, weight=moment.weight,
                  expected_seconds=moment.expected_seconds, position=moment.position)
    copy.questions = [
        Question(key=q.key, text=q.text, help=q.help, type=q.type, required=q.required, weight=q.weight,
                 critical=q.critical, options=[list(o) for o in q.options] if q.options else None, target=q.target,
                 position=q.position)
        for q in moment.questions
    ]
    return copy


def editable_moment(journey: Journey, moment: Moment, *, user_id: int | None = None) -> Moment | None:
    """The moment with the same key in the version edits go to (None when the draft no longer has it)."""
    version = editable_version(journey, user_id=user_id)
    if moment.version_id == version.id:
        return moment
    return next((m for m in version.moments if m.key == moment.key), None)


def editable_question(journey: Journey, question: Question, *, user_id: int | None = None) -> Question | None:
    moment = editable_moment(journey, question.moment, user_id=user_id)
    if moment is None:
        return None
    if question.moment_id == moment.id:
        return question
    return next((q for q in moment.questions if q.key == question.key), None)


def publish_draft(journey: Journey, *, user_id: int | None = None) -> JourneyVersion:
    """Make the draft the current version; the old current version is retired. Raises VersionError."""
    draft = draft_version(journey)
    if draft is None:
        raise VersionError("There are no unpublished changes to publish.")
    if not draft.moments:
        raise VersionError("Add at least one moment before publishing: a journey without moments cannot be answered.")
    old = journey.current_version
    if old is not None and old.id != draft.id:
        old.status = RETIRED
    draft.status = PUBLISHED
    draft.published_at = utcnow()
    journey.current_version = draft
    db.session.flush()
    record("version.publish", journey, summary=f"Version {draft.number} of '{journey.name}' published",
           detail={"version": draft.number, "retired": old.number if old is not None else None})
    return draft


def discard_draft(journey: Journey) -> None:
    """Delete the draft and everything in it; the published version is untouched. Raises VersionError."""
    draft = draft_version(journey)
    if draft is None:
        raise VersionError("There is no draft to discard.")
    if journey.current_version is None:
        raise VersionError("This journey has never been published: its draft is all there is. Archive the journey "
                           "instead.")
    if version_has_evaluations(draft):  # never expected: drafts are not offered for answering
        raise VersionError("This draft has answers and cannot be discarded.")
    number = draft.number
    db.session.delete(draft)
    db.session.flush()
    record("version.discard", journey, summary=f"Draft version {number} of '{journey.name}' discarded",
           detail={"version": number})


def moment_key_answered(journey: Journey, moment_key: str) -> bool:
    """Whether any evaluation of this journey (any version) holds results for this moment key."""
    _, Evaluation, MomentResult = _evaluation_models()
    return bool(db.session.scalar(select(exists().where(
        MomentResult.moment_key == moment_key,
        MomentResult.evaluation_id == Evaluation.id,
        Evaluation.journey_id == journey.id,
    ))))


def question_key_answered(journey: Journey, moment_key: str, question_key: str) -> bool:
    Answer, Evaluation, _ = _evaluation_models()
    return bool(db.session.scalar(select(exists().where(
        Answer.moment_key == moment_key,
        Answer.question_key == question_key,
        Answer.evaluation_id == Evaluation.id,
        Evaluation.journey_id == journey.id,
    ))))
