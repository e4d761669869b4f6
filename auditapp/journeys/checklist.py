"""A journey version's checklist (its moments and their questions) as plain immutable values, cached per process.

Submissions validate and score against it (auditapp.evaluations.services). A version that is published and has
evaluations never changes: journeys.versioning sends every edit of it to a draft. Only such versions are cached,
under their id together with the fields that tell one version row from another (a restored backup, or a database
emptied and filled again, can give a new version an old id). Any flush in this process that writes a journey
version, a moment or a question empties the whole cache all the same, so an edit in this process is never missed.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from ..extensions import db
from .models import JourneyVersion, Moment, Question
from .spec import OptionSpec

MAX_CACHED = 500  # versions; more than any organisation answers at once, and a bound on memory


@dataclass(frozen=True, slots=True)
class ChecklistQuestion:
    id: int
    key: str
    text: str  # in the version's own language (the critical-fail notice names it)
    type: str
    required: bool
    weight: float
    critical: bool
    target: str | None
    option_specs: tuple[OptionSpec, ...]


@dataclass(frozen=True, slots=True)
class ChecklistMoment:
    id: int
    key: str
    name: str
    weight: float
    expected_seconds: int | None
    questions: tuple[ChecklistQuestion, ...]  # in position order


@dataclass(frozen=True, slots=True)
class Checklist:
    version_id: int
    moments: tuple[ChecklistMoment, ...]  # in position order


_cache: dict[int, tuple[tuple, Checklist]] = {}


def _identity(version: JourneyVersion) -> tuple:
    return (version.journey_id, version.number, version.created_at, version.published_at, version.status)


def _from_rows(version: JourneyVersion, moments: list[Moment]) -> Checklist:
    return Checklist(version.id, tuple(
        ChecklistMoment(m.id, m.key, m.name, m.weight, m.expected_seconds, tuple(
            ChecklistQuestion(q.id, q.key, q.text, q.type, q.required, q.weight, q.critical, q.target, q.option_specs)
            for q in m.questions))
        for m in moments))


def checklist(version: JourneyVersion) -> Checklist:
    """The version's checklist: from the cache, else its moments and questions in two queries."""
    identity = _identity(version)
    hit = _cache.get(version.id)
    if hit is not None and hit[0] == identity:
        return hit[1]
    moments = list(db.session.scalars(
        select(Moment).where(Moment.version_id == version.id).order_by(Moment.position, Moment.id)
        .options(selectinload(Moment.questions))))
    made = _from_rows(version, moments)
    from .versioning import PUBLISHED, version_has_evaluations

    if version.status == PUBLISHED and version_has_evaluations(version):  # frozen: see the module docstring
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[version.id] = (identity, made)
    return made


def clear_cache() -> None:
    _cache.clear()


@event.listens_for(Session, "before_flush")
def _forget_edited_checklists(session, _flush_context, _instances) -> None:
    if not _cache:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, (JourneyVersion, Moment, Question)):
            _cache.clear()
            return
