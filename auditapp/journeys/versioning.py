"""Journey versions: where an edit goes, publishing and discarding drafts. Services flush; callers commit.

Journey.current_version is the published version that shoppers and staff answer. An edit goes to:
1. the journey's draft version, when there is one;
2. else the current version itself, when nobody has answered it yet (nothing collected can change);
3. else a new draft, a copy of the current version numbered one higher.
"Publish" makes the draft current (the old version is retired); "discard" deletes the draft. Evaluations point at
the exact version they answered, so retired versions and their questions stay as they were.

A journey has at most one draft; the database enforces it (a partial unique index on journey_version.journey_id
where status is 'draft'). When two managers start a draft at the same moment, both pass the "is there a draft?"
check, but only the first insert is kept: the other gets DraftConflict, naming the draft that won.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..auth.models import User
from ..extensions import db
from ..timeutil import utcnow
from .models import Journey, JourneyVersion, Moment, Question

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"


class VersionError(Exception):
    """A version operation that cannot be done; the message says why, for the manager."""


class DraftConflict(Exception):
    """Another request started a draft of this journey (or published a new version) between our check and our
    insert; nothing of ours was kept. The attributes are what the manager is told and where to go."""

    def __init__(self, journey: Journey, version: JourneyVersion):
        self.journey_id = journey.id
        self.journey_name = journey.name
        self.is_draft = version.status == DRAFT
        self.draft_id = version.id
        self.draft_number = version.number
        self.by_name = _user_name(version.created_by_id) or _("Another manager")
        # `what` stays English for the CLI; `message` is in the manager's language (English outside a request).
        if self.is_draft:
            self.what = "started a draft of this journey"
            self.message = _("%(name)s started a draft of this journey a moment ago; your change was not saved. Open "
                             "the draft to continue.", name=self.by_name)
        else:
            self.what = f"published version {version.number} of this journey"
            self.message = _("%(name)s published version %(number)s of this journey a moment ago; your change was not "
                             "saved. Open the journey to continue.", name=self.by_name, number=version.number)
        super().__init__(self.message)


class DraftPending(VersionError):
    """A new published version was asked for while the journey has a draft: publishing past it would bury
    someone's unpublished work, so the manager deals with the draft first."""

    def __init__(self, journey: Journey, draft: JourneyVersion):
        self.journey_id = journey.id
        self.draft_id = draft.id
        self.draft_number = draft.number
        self.by_name = _user_name(draft.created_by_id)
        if self.by_name:
            message = _("'%(name)s' has an unpublished draft (version %(number)s, started by %(by)s). Publish or "
                        "discard that draft first, then import the workbook again; nothing was imported.",
                        name=journey.name, number=draft.number, by=self.by_name)
        else:
            message = _("'%(name)s' has an unpublished draft (version %(number)s). Publish or discard that draft "
                        "first, then import the workbook again; nothing was imported.", name=journey.name,
                        number=draft.number)
        super().__init__(message)


def draft_author(draft: JourneyVersion) -> str | None:
    return _user_name(draft.created_by_id)


def _user_name(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return (user.name or user.email) if user is not None else None


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


def _insert_draft(journey: Journey, version: JourneyVersion) -> JourneyVersion:
    """Store a new draft. When another request stored one first (the (journey, number) constraint or the one-draft
    index says so), only this insert is undone and DraftConflict names the draft that is there now."""
    _begin_sqlite_transaction()
    try:
        with db.session.begin_nested():  # a savepoint: the caller's other changes survive the failed insert
            db.session.add(version)
            db.session.flush()
    except IntegrityError:
        # READ COMMITTED (PostgreSQL) and SQLite's single writer both let these queries see the winner's version:
        # a draft, or (an import as a new version publishes at once) the version that took our number.
        winner = draft_version(journey) or db.session.scalar(
            select(JourneyVersion).where(JourneyVersion.journey_id == journey.id,
                                         JourneyVersion.number == version.number))
        if winner is None:
            raise
        raise DraftConflict(journey, winner) from None
    return version


def _begin_sqlite_transaction() -> None:
    """pysqlite opens a transaction only at the first write, so a SAVEPOINT before any write would be the outermost
    transaction and its RELEASE would commit on its own. Open the transaction first so the caller's commit (or
    rollback) still decides. (auditapp.evaluations.services does the same before its savepoint.)"""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")


def new_empty_draft(journey: Journey, *, user_id: int | None = None) -> JourneyVersion:
    """A new draft without moments. Raises DraftConflict when another request started a draft first."""
    version = JourneyVersion(journey_id=journey.id, number=_next_number(journey), status=DRAFT, created_by_id=user_id)
    return _insert_draft(journey, version)


def clone_version(journey: Journey, source: JourneyVersion, *, user_id: int | None = None) -> JourneyVersion:
    """A new draft with a copy of every moment and question of `source` (keys kept, so results still join).
    Raises DraftConflict when another request started a draft first."""
    version = JourneyVersion(journey_id=journey.id, number=_next_number(journey), status=DRAFT, created_by_id=user_id,
                             default_language=source.default_language, default_language_name=source.default_language_name,
                             languages=[dict(item) for item in source.languages or ()])
    version.moments = [_copy_moment(m) for m in source.moments]
    _insert_draft(journey, version)
    record("version.draft", journey, summary=f"Draft version {version.number} of '{journey.name}' started "
                                             f"from version {source.number}",
           detail={"version": version.number, "from": source.number})
    return version


def _copy_moment(moment: Moment) -> Moment:
    copy = Moment(key=moment.key, name=moment.name, description=moment.description, channel=moment.channel,
                  kind=moment.kind, priority=moment.priority, weight=moment.weight,
                  expected_seconds=moment.expected_seconds, position=moment.position,
                  translations=copy_translations(moment.translations))
    copy.questions = [
        Question(key=q.key, text=q.text, help=q.help, type=q.type, required=q.required, weight=q.weight,
                 critical=q.critical, options=[list(o) for o in q.options] if q.options else None, target=q.target,
                 position=q.position, translations=copy_translations(q.translations))
        for q in moment.questions
    ]
    return copy


def copy_translations(translations: dict | None) -> dict:
    """A deep copy: JSON columns are changed by assignment, and two versions must never share one dict."""
    return {code: {field: list(value) if isinstance(value, list) else value for field, value in texts.items()}
            for code, texts in (translations or {}).items()}


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
        raise VersionError(_("There are no unpublished changes to publish."))
    if not draft.moments:
        raise VersionError(_("Add at least one moment before publishing: a journey without moments cannot be "
                             "answered."))
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


def publish_new_version(journey: Journey, moments: list[Moment], *, user_id: int | None = None,
                        source: str = "", languages: dict | None = None) -> JourneyVersion:
    """A new published version holding `moments` (from an imported workbook), numbered one higher; the current
    version is retired and its evaluations keep pointing at it. Raises DraftPending while the journey has a draft
    and DraftConflict when another request starts one meanwhile."""
    draft = draft_version(journey)
    if draft is not None:
        raise DraftPending(journey, draft)
    version = JourneyVersion(journey_id=journey.id, number=_next_number(journey), status=DRAFT, created_by_id=user_id,
                             **(languages or {}))  # default_language, default_language_name, languages
    version.moments = moments
    _insert_draft(journey, version)  # stored as a draft first, so the one-draft index guards this path too
    old = journey.current_version
    if old is not None:
        old.status = RETIRED
    version.status = PUBLISHED
    version.published_at = utcnow()
    journey.current_version = version
    db.session.flush()
    retired = f"; version {old.number} retired" if old is not None else ""
    record("version.import", journey, summary=f"Version {version.number} of '{journey.name}' imported from "
                                              f"{source or 'a workbook'} and published{retired}",
           detail={"version": version.number, "retired": old.number if old is not None else None, "source": source,
                   "moments": len(moments)})
    return version


def discard_draft(journey: Journey) -> None:
    """Delete the draft and everything in it; the published version is untouched. Raises VersionError."""
    draft = draft_version(journey)
    if draft is None:
        raise VersionError(_("There is no draft to discard."))
    if journey.current_version is None:
        raise VersionError(_("This journey has never been published: its draft is all there is. Archive the journey "
                             "instead."))
    if version_has_evaluations(draft):  # never expected: drafts are not offered for answering
        raise VersionError(_("This draft has answers and cannot be discarded."))
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
