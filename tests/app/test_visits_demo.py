"""The demo's visits step: months of evaluations, assignments in every state, review work, flags, the story."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from auditapp.demo import DEMO_STEPS, build_demo
from auditapp.evaluations.models import COUNTED_STATUSES, Evaluation, EvaluationEvent, EvaluationFlag
from auditapp.extensions import db
from auditapp.results.queries import Filters, perception_gap, scorecard
from auditapp.timeutil import local_today
from auditapp.visits.demo_data import add_demo_activity
from auditapp.visits.models import Assignment
from auditapp.visits.services import count_overdue


def test_demo_tells_the_story(app):
    assert DEMO_STEPS.index(add_demo_activity) > 0  # after the journeys step
    started = time.process_time()
    result = build_demo(seed=7)
    db.session.commit()
    assert time.process_time() - started < 15  # a few seconds of work, even on a busy machine
    org = result.org

    statuses = dict(db.session.execute(select(Evaluation.status, func.count()).group_by(Evaluation.status)).all())
    assert 180 <= sum(statuses.values()) <= 400
    assert statuses["approved"] > 50 and statuses["submitted"] > 10 and statuses["rejected"] >= 2 and statuses["returned"] >= 2
    sources = dict(db.session.execute(select(Evaluation.source, func.count()).group_by(Evaluation.source)).all())
    assert sources["shopper"] > 100 and sources["staff"] > 20
    evaluators = db.session.scalar(select(func.count(func.distinct(Evaluation.evaluator_id))))
    assert evaluators == 5  # three shoppers and two staff
    first, last = db.session.execute(select(func.min(Evaluation.started_at), func.max(Evaluation.started_at))).one()
    assert (last - first).days > 150
    with_notes = db.session.scalar(select(func.count()).select_from(Evaluation).where(Evaluation.notes != ""))
    assert with_notes > 50

    flags = set(db.session.scalars(select(EvaluationFlag.code).distinct()))
    assert {"short_visit", "copied_note", "late_submission", "outside_window"} <= flags
    assert db.session.scalar(select(func.count()).select_from(EvaluationFlag)) < 30  # flags stay the exception
    assert db.session.scalar(select(func.count()).select_from(EvaluationEvent).where(EvaluationEvent.action == "resubmitted")) >= 1

    states = set(db.session.scalars(select(Assignment.status).distinct()))
    assert {"scheduled", "started", "submitted", "cancelled"} <= states
    assert count_overdue(org.id, local_today(org.timezone)) >= 1

    dentist = result.journeys["dentist-visit"]
    payment = scorecard(org, Filters(journey_id=dentist.id, location_id=result.locations["001"].id)).moment("payment")
    assert payment.signal.flagged and payment.signal.direction == "down"
    gaps = {row.key: row for row in perception_gap(org, Filters(journey_id=dentist.id))}
    assert gaps["arrival"].flagged and gaps["arrival"].gap >= 15
    counted = db.session.scalar(select(func.count()).select_from(Evaluation).where(Evaluation.status.in_(COUNTED_STATUSES)))
    assert scorecard(org, Filters(journey_id=dentist.id)).evaluations < counted
