"""Journey services: build journeys from specs, read them back as specs. Services flush; callers commit."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..timeutil import utcnow
from .models import Journey, JourneyVersion, Moment, Question
from .spec import JourneySpec, MomentSpec, OptionSpec, QuestionSpec, ensure_verdicts


def _moment_from_spec(spec: MomentSpec, position: int) -> Moment:
    moment = Moment(key=spec.key, name=spec.name, description=spec.description or "", channel=spec.channel,
                    kind=spec.kind or None, priority=bool(spec.priority), weight=float(spec.weight),
                    expected_seconds=spec.expected_seconds, position=position)
    moment.questions = [
        Question(key=q.key, text=q.text, help=q.help or "", type=q.type, required=bool(q.required),
                 weight=float(q.weight), critical=bool(q.critical),
                 options=[[o.label, o.score] for o in q.options] if q.options else None,
                 target=q.target or None, position=i)
        for i, q in enumerate(spec.questions)
    ]
    return moment


def create_journey_from_spec(org_id: int, spec: JourneySpec, *, user_id: int | None = None,
                             library_slug: str | None = None) -> Journey:
    """A new journey whose version 1 is published and ready to use."""
    ensure_verdicts(spec)
    journey = Journey(org_id=org_id, name=spec.name, description=spec.description or "", library_slug=library_slug)
    version = JourneyVersion(journey=journey, number=1, status="published", published_at=utcnow(),
                             created_by_id=user_id)
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
                         target=q.target, help=q.help or "")
            for q in m.questions
        ]
        moments.append(MomentSpec(key=m.key, name=m.name, channel=m.channel, kind=m.kind, priority=m.priority,
                                  weight=m.weight, expected_seconds=m.expected_seconds, description=m.description or "",
                                  questions=questions))
    return JourneySpec(name=journey.name, description=journey.description or "", moments=moments)


def current_moments(journey: Journey) -> list[Moment]:
    return list(journey.current_version.moments) if journey.current_version else []


def published_journeys(org_id: int) -> list[Journey]:
    return list(db.session.scalars(
        select(Journey).where(Journey.org_id == org_id, Journey.archived.is_(False),
                              Journey.current_version_id.is_not(None)).order_by(Journey.name)
    ))
