"""The submission baseline for bench/load.py: the app itself (same gunicorn, same database, same JSON) plus one
endpoint that validates nothing and writes the same rows as a real submission (the evaluation, its answers and
one result per moment) in one transaction with bulk inserts. A real submission's throughput is printed as a share
of this one's: the cost of checking, scoring, idempotency, the audit log and notices, not of HTTP or the database.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import request
from sqlalchemy import insert, select

from auditapp import create_app
from auditapp.evaluations.models import Answer, Evaluation, MomentResult
from auditapp.extensions import csrf, db
from auditapp.journeys.models import Journey, Moment, Question

app = create_app()
_journeys: dict[int, tuple] = {}  # journey id -> (org id, version id, {(moment, question): (question id, moment id)}, moments)


def _journey(journey_id: int) -> tuple:
    if journey_id not in _journeys:
        journey = db.session.get(Journey, journey_id)
        moments = list(db.session.scalars(select(Moment).where(Moment.version_id == journey.current_version_id)))
        questions = {(m.key, q.key): (q.id, m.id) for m in moments
                     for q in db.session.scalars(select(Question).where(Question.moment_id == m.id))}
        _journeys[journey_id] = (journey.org_id, journey.current_version_id, questions,
                                 [(m.id, m.key, m.position) for m in moments])
    return _journeys[journey_id]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


@csrf.exempt
def baseline():
    body = request.get_json()
    org_id, version_id, questions, moments = _journey(body["journey_id"])
    now = datetime.now(UTC).replace(tzinfo=None)  # bench code, not domain time
    with db.engine.begin() as conn:
        evaluation_id = conn.execute(insert(Evaluation.__table__).returning(Evaluation.__table__.c.id), dict(
            org_id=org_id, client_uuid=body["client_uuid"], journey_id=body["journey_id"], version_id=version_id,
            location_id=body["location_id"], source=body["source"], status="submitted",
            started_at=_utc(body["started_at"]), finished_at=_utc(body["finished_at"]), submitted_at=now,
            notes=body.get("notes", ""), content_hash="", revision=1, review_comment="")).scalar_one()
        conn.execute(insert(Answer.__table__), [
            dict(evaluation_id=evaluation_id, question_id=questions[(a["moment"], a["question"])][0],
                 moment_key=a["moment"], question_key=a["question"], value=str(a["value"]), number=None, score=None,
                 note=a.get("note", "")) for a in body["answers"]])
        conn.execute(insert(MomentResult.__table__), [
            dict(evaluation_id=evaluation_id, moment_id=moment_id, moment_key=key, position=position, score=None,
                 critical_fail=False, verdict=None, duration_seconds=body.get("durations", {}).get(key), note="")
            for moment_id, key, position in moments])
    return {"id": evaluation_id, "client_uuid": body["client_uuid"]}, 201


app.add_url_rule("/bench/baseline-evaluations", "bench_baseline", baseline, methods=["POST"])
