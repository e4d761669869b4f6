"""submit_evaluation: validation, scoring, storing, replays and resubmissions (contract sections 3 and 4)."""
from __future__ import annotations

import math
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from auditapp.auth.models import AuditLog
from auditapp.evaluations.models import Answer, Evaluation, EvaluationEvent, MomentResult
from auditapp.evaluations.services import (
    SubmissionError,
    content_hash,
    evaluation_to_dict,
    submit_evaluation,
    visible_evaluations,
)
from auditapp.extensions import db
from auditapp.timeutil import utcnow
from auditapp.visits.models import Assignment


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def full_payload(journey, location, **overrides) -> dict:
    """Every moment of the sample journey answered; scores worked out by hand in test_scores_match_hand_computed."""
    payload = {
        "client_uuid": str(uuid.uuid4()),
        "journey_id": journey.id,
        "location_id": location.id,
        "source": "shopper",
        "started_at": "2024-05-01T14:30:00+02:00",
        "finished_at": "2024-05-01T12:45:00Z",
        "notes": "Busy lunchtime",
        "answers": [
            {"moment": "greeting", "question": "greeted", "value": "yes", "note": "at once"},
            {"moment": "greeting", "question": "smile", "value": 4},
            {"moment": "greeting", "question": "verdict", "value": "magical"},
            {"moment": "order", "question": "wait", "value": 90},
            {"moment": "order", "question": "speed", "value": "slow"},
            {"moment": "order", "question": "clean", "value": "yes"},
            {"moment": "order", "question": "verdict", "value": "neutral"},
            {"moment": "farewell", "question": "mood", "value": "miserable"},
            {"moment": "farewell", "question": "comment", "value": "=SUM(A1)"},
            {"moment": "farewell", "question": "verdict", "value": "neutral"},
        ],
        "durations": {"greeting": 12.5, "order": 95},
        "moment_notes": {"farewell": "Nobody said goodbye"},
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper")
    journey = make.journey(org)
    location = make.location(org)
    return org, shopper, journey, location


def answer(payload, moment, question, value=None, **extra):
    for item in payload["answers"]:
        if item["moment"] == moment and item["question"] == question:
            item["value"] = value
            item.update(extra)
            return payload
    payload["answers"].append({"moment": moment, "question": question, "value": value, **extra})
    return payload


def test_scores_match_hand_computed(world):
    org, shopper, journey, location = world
    result = submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    db.session.commit()
    ev = result.evaluation
    assert result.created and not result.resubmitted
    by_key = {r.moment_key: r for r in ev.moment_results}
    # greeting: yes 1 (w1), rating 4 -> .75 (w2), verdict magical 1 (w1) -> 3.5/4
    assert by_key["greeting"].score == pytest.approx(87.5)
    # order: wait 90 <= 120 -> 1, Slow -> 0, clean yes 1, verdict neutral .5 -> 2.5/4
    assert by_key["order"].score == pytest.approx(62.5)
    # farewell: mood miserable 0, comment unscored, verdict neutral .5 -> 0.5/2
    assert by_key["farewell"].score == pytest.approx(25.0)
    # evaluation: greeting has moment weight 2 -> (2*87.5 + 62.5 + 25) / 4
    assert ev.score == pytest.approx(65.625)
    # peak-end: first 87.5, worst 25, last 25
    assert ev.remembered_score == pytest.approx((87.5 + 25 + 25) / 3)
    assert [r.moment_key for r in ev.moment_results] == ["greeting", "order", "farewell"]
    assert [r.verdict for r in ev.moment_results] == ["magical", "neutral", "neutral"]
    assert by_key["greeting"].duration_seconds == 12.5 and by_key["farewell"].duration_seconds is None
    assert by_key["farewell"].note == "Nobody said goodbye"
    assert not any(r.critical_fail for r in ev.moment_results)
    # started_at had an offset: stored as naive UTC; finished before started is kept (a flag for the reviewer)
    assert ev.started_at.isoformat() == "2024-05-01T12:30:00"
    assert ev.finished_at.isoformat() == "2024-05-01T12:45:00"
    assert ev.status == "submitted" and ev.source == "shopper" and ev.evaluator_id == shopper.id
    assert ev.version_id == journey.current_version_id and ev.revision == 1
    assert ev.content_hash == content_hash(full_payload(journey, location, client_uuid=ev.client_uuid))
    stored = {(a.moment_key, a.question_key): a for a in ev.answers}
    assert len(stored) == 10
    assert stored[("order", "speed")].value == "Slow"  # canonical label
    assert stored[("order", "speed")].score == 0.0
    assert stored[("greeting", "smile")].number == 4.0 and stored[("greeting", "smile")].score == 0.75
    assert stored[("farewell", "comment")].value == "=SUM(A1)" and stored[("farewell", "comment")].score is None
    assert stored[("greeting", "greeted")].note == "at once"
    events = db.session.scalars(select(EvaluationEvent)).all()
    assert [e.action for e in events] == ["submitted"]
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.object_id == ev.id)) == "evaluation.submitted"


def test_critical_fail_zeroes_the_moment(world):
    org, shopper, journey, location = world
    payload = answer(full_payload(journey, location), "order", "clean", "no")
    ev = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    order = next(r for r in ev.moment_results if r.moment_key == "order")
    assert order.score == 0.0 and order.critical_fail
    assert ev.score == pytest.approx((2 * 87.5 + 0 + 25) / 4)


def test_na_satisfies_required_and_unanswered_leaves_no_row(world):
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    payload["answers"] = [
        {"moment": "greeting", "question": "greeted", "value": "na"},
        {"moment": "greeting", "question": "verdict", "value": "neutral"},
        {"moment": "order", "question": "verdict", "value": "magical"},
        {"moment": "order", "question": "wait", "value": "", "note": "could not time it"},
        {"moment": "farewell", "question": "verdict", "value": "miserable"},
    ]
    ev = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    stored = {(a.moment_key, a.question_key): a for a in ev.answers}
    assert stored[("greeting", "greeted")].value == "na" and stored[("greeting", "greeted")].score is None
    # a note on an unanswered question is kept as a row without a value; other unanswered questions have none
    assert stored[("order", "wait")].value is None and stored[("order", "wait")].note == "could not time it"
    assert ("greeting", "smile") not in stored
    assert [r.score for r in ev.moment_results] == [50.0, 100.0, 0.0]


def fields_of(error: SubmissionError) -> set[str]:
    return {e["field"] for e in error.errors}


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p["answers"].pop(0), "answers.greeting.greeted"),  # required missing
    (lambda p: answer(p, "greeting", "verdict", "na"), "answers.greeting.verdict"),  # a verdict cannot be na
    (lambda p: answer(p, "nowhere", "greeted", "yes"), "answers.nowhere.greeted"),
    (lambda p: answer(p, "greeting", "nothing", "yes"), "answers.greeting.nothing"),
    (lambda p: answer(p, "greeting", "greeted", 3), "answers.greeting.greeted"),  # wrong type
    (lambda p: answer(p, "greeting", "smile", 6), "answers.greeting.smile"),
    (lambda p: answer(p, "greeting", "smile", 2.5), "answers.greeting.smile"),
    (lambda p: answer(p, "order", "wait", math.nan), "answers.order.wait"),
    (lambda p: answer(p, "order", "wait", "12 seconds"), "answers.order.wait"),
    (lambda p: answer(p, "order", "speed", "Lightning"), "answers.order.speed"),
    (lambda p: answer(p, "farewell", "mood", "great"), "answers.farewell.mood"),
    (lambda p: answer(p, "farewell", "comment", "x", note="n" * 5001), "answers.farewell.comment"),
    (lambda p: answer(p, "farewell", "receipt", "not-a-photo"), "answers.farewell.receipt"),
    (lambda p: p["answers"].append({"moment": "greeting", "question": "greeted", "value": "no"}), "answers.greeting.greeted"),
    (lambda p: p["answers"].append("yes"), "answers"),
    (lambda p: p.update(answers={"greeting": "yes"}), "answers"),
    (lambda p: p.update(client_uuid="short"), "client_uuid"),
    (lambda p: p.update(client_uuid="has spaces in it"), "client_uuid"),
    (lambda p: p.update(client_uuid=None), "client_uuid"),
    (lambda p: p.update(source="robot"), "source"),
    (lambda p: p.update(source="staff"), "source"),  # a shopper cannot send staff evaluations
    (lambda p: p.update(started_at="yesterday"), "started_at"),
    (lambda p: p.update(started_at=None), "started_at"),
    (lambda p: p.update(started_at="1999-12-31T23:00:00Z"), "started_at"),
    (lambda p: p.update(finished_at=(utcnow() + timedelta(days=2)).isoformat() + "Z"), "finished_at"),
    (lambda p: p.update(notes="x" * 10_001), "notes"),
    (lambda p: p.update(notes=12), "notes"),
    (lambda p: p.update(durations={"greeting": -1}), "durations.greeting"),
    (lambda p: p.update(durations={"greeting": 86_401}), "durations.greeting"),
    (lambda p: p.update(durations={"greeting": math.inf}), "durations.greeting"),
    (lambda p: p.update(durations={"greeting": "10"}), "durations.greeting"),
    (lambda p: p.update(durations={"lobby": 10}), "durations.lobby"),
    (lambda p: p.update(moment_notes={"lobby": "x"}), "moment_notes.lobby"),
    (lambda p: p.update(moment_notes={"order": "x" * 5001}), "moment_notes.order"),
    (lambda p: p.update(journey_id="one"), "journey_id"),
    (lambda p: p.update(location_id=True), "location_id"),
    (lambda p: p.update(assignment_id=999_999), "assignment_id"),
    (lambda p: p.update(colour="blue"), "colour"),
])
def test_invalid_input_is_422_with_the_field_and_stores_nothing(world, change, field):
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    change(payload)
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", payload)
    assert caught.value.status == 422
    assert field in fields_of(caught.value), caught.value.errors
    db.session.rollback()
    assert count(Evaluation) == count(Answer) == count(MomentResult) == 0


def test_every_problem_is_reported_at_once(world):
    org, shopper, journey, location = world
    payload = full_payload(journey, location, client_uuid="x", started_at="soon", notes=5)
    answer(payload, "greeting", "smile", 9)
    payload["answers"] = [a for a in payload["answers"] if a["question"] != "verdict" or a["moment"] != "order"]
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", payload)
    assert fields_of(caught.value) == {"client_uuid", "started_at", "notes", "answers.greeting.smile", "answers.order.verdict"}
    assert len(caught.value.errors) == 5  # and nothing reported twice


def test_foreign_archived_or_unknown_journey_and_location_are_404(world, make):
    org, shopper, journey, location = world
    other = make.org()
    foreign_journey, foreign_location = make.journey(other), make.location(other)
    for overrides in ({"journey_id": foreign_journey.id}, {"location_id": foreign_location.id},
                      {"journey_id": 999_999}, {"location_id": 999_999}):
        with pytest.raises(SubmissionError) as caught:
            submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location, **overrides))
        assert caught.value.status == 404
        assert foreign_journey.name not in str(caught.value.detail)
    journey.archived = True
    db.session.commit()
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    assert caught.value.status == 404
    assert count(Evaluation) == 0


def test_replay_returns_the_stored_evaluation_and_changed_replay_is_409(world):
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    first = submit_evaluation(org.id, shopper, "shopper", payload)
    db.session.commit()
    again = submit_evaluation(org.id, shopper, "shopper", dict(payload))
    assert not again.created and again.evaluation.id == first.evaluation.id
    assert count(Evaluation) == 1 and count(EvaluationEvent) == 1
    changed = answer(full_payload(journey, location, client_uuid=payload["client_uuid"]), "greeting", "smile", 1)
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", changed)
    assert caught.value.status == 409
    db.session.rollback()
    assert db.session.get(Evaluation, first.evaluation.id).score == pytest.approx(65.625)


def test_same_uuid_in_another_organisation_is_independent(world, make):
    org, shopper, journey, location = world
    other = make.org()
    other_shopper = make.user(other, "shopper")
    payload = full_payload(journey, location)
    submit_evaluation(org.id, shopper, "shopper", payload)
    payload2 = full_payload(make.journey(other), make.location(other), client_uuid=payload["client_uuid"])
    assert submit_evaluation(other.id, other_shopper, "shopper", payload2).created
    assert count(Evaluation) == 2


def test_a_replay_is_told_by_the_insert_and_answered_as_a_replay(world):
    """No look-up before the insert: a valid replay (or a concurrent twin) reaches INSERT ... ON CONFLICT DO NOTHING,
    which writes nothing, and is answered as a replay of the stored evaluation; changed content is a 409."""
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    first = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    db.session.commit()
    result = submit_evaluation(org.id, shopper, "shopper", dict(payload))
    assert not result.created and result.evaluation.id == first.id
    db.session.commit()
    assert count(Evaluation) == 1 and count(Answer) == len(payload["answers"])

    changed = answer(full_payload(journey, location, client_uuid=payload["client_uuid"]), "greeting", "smile", 2)
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", changed)
    assert caught.value.status == 409


def test_a_replay_that_no_longer_validates_is_still_answered_as_a_replay(world):
    """Its location archived since it was stored: the look-up after the failed validation finds it."""
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    first = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    db.session.commit()
    location.archived = True
    db.session.commit()
    result = submit_evaluation(org.id, shopper, "shopper", dict(payload))
    assert not result.created and result.evaluation.id == first.id
    with pytest.raises(SubmissionError) as caught:  # a new evaluation there is refused as before
        submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    assert caught.value.status == 404


def test_a_new_evaluation_stands_for_its_row_without_reading_it_back(world):
    """The service inserts a new evaluation with Core statements and keeps its object as the stored row: every column
    is as a read gives it, the reply's moments (from the rows inserted) equal the stored ones, and the event, the
    audit entry and the flags it inserted are there in the same transaction."""
    from sqlalchemy import inspect

    from auditapp.evaluations.models import EvaluationFlag

    org, shopper, journey, location = world
    result = submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    evaluation = result.evaluation
    state = inspect(evaluation)
    assert state.persistent and not state.modified
    columns = {attr.key for attr in state.mapper.column_attrs}
    assert columns.isdisjoint(state.unloaded)  # nothing left to load
    inserted = {key: getattr(evaluation, key) for key in columns}
    reply = evaluation_to_dict(evaluation, with_answers=False, moment_rows=result.moment_rows)
    flag_codes = [flag.code for flag in evaluation.flags]  # loads the rows inserted above
    assert flag_codes == ["late_submission"]
    assert [(e.action, e.user_id, e.comment, e.changes) for e in evaluation.events] == [("submitted", shopper.id, "", None)]
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Evaluation, evaluation.id)
    assert {key: getattr(stored, key) for key in columns} == inserted
    assert evaluation_to_dict(stored, with_answers=False) == reply
    assert [f.code for f in db.session.scalars(select(EvaluationFlag).where(EvaluationFlag.evaluation_id == stored.id))] \
        == flag_codes
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "evaluation.submitted"))
    assert (entry.object_type, entry.object_id, entry.user_id, entry.org_id) == ("evaluation", stored.id, shopper.id, org.id)


def test_the_callers_rollback_stores_nothing(world):
    """On SQLite nothing commits by itself: a caller that rolls back stores nothing."""
    org, shopper, journey, location = world
    submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    db.session.rollback()
    assert count(Evaluation) == 0 and count(Answer) == 0


def test_source_rules_by_role(world, make):
    org, shopper, journey, location = world
    other_location = make.location(org)
    staff = make.user(org, "staff", location=location)
    manager = make.user(org, "manager")
    assert submit_evaluation(org.id, staff, "staff", full_payload(journey, location, source="staff")).created
    # source may be left out by shoppers and staff
    payload = full_payload(journey, location)
    del payload["source"]
    assert submit_evaluation(org.id, staff, "staff", payload).evaluation.source == "staff"
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, staff, "staff", full_payload(journey, location, source="shopper"))
    assert fields_of(caught.value) == {"source"}
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, staff, "staff", full_payload(journey, other_location, source="staff"))
    assert caught.value.status == 403
    for source in ("shopper", "staff"):
        ev = submit_evaluation(org.id, manager, "manager", full_payload(journey, other_location, source=source))
        assert ev.evaluation.source == source
    payload = full_payload(journey, location)
    del payload["source"]
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, manager, "manager", payload)
    assert fields_of(caught.value) == {"source"}


def test_assignment_is_linked_and_marked_submitted(world, make):
    org, shopper, journey, location = world
    today = utcnow().date()
    assignment = Assignment(org_id=org.id, location_id=location.id, journey_id=journey.id, shopper_id=shopper.id,
                            window_start=today, window_end=today)
    someone_elses = Assignment(org_id=org.id, location_id=location.id, journey_id=journey.id,
                               shopper_id=make.user(org, "shopper").id, window_start=today, window_end=today)
    db.session.add_all([assignment, someone_elses])
    db.session.commit()
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location, assignment_id=someone_elses.id))
    assert fields_of(caught.value) == {"assignment_id"}
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper",
                          full_payload(journey, make.location(org), assignment_id=assignment.id))
    assert fields_of(caught.value) == {"assignment_id"}
    ev = submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location, assignment_id=assignment.id)).evaluation
    assert ev.assignment_id == assignment.id and assignment.status == "submitted"


def test_resubmission_of_a_returned_evaluation_updates_in_place(world):
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    ev = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    ev.status = "returned"
    db.session.commit()
    fixed = answer(full_payload(journey, location, client_uuid=payload["client_uuid"], notes="Busy, fixed"),
                   "greeting", "smile", 2)
    result = submit_evaluation(org.id, shopper, "shopper", fixed)
    db.session.commit()
    assert result.resubmitted and not result.created and result.evaluation.id == ev.id
    assert count(Evaluation) == 1
    ev = db.session.get(Evaluation, ev.id)
    assert ev.status == "submitted" and ev.revision == 2 and ev.content_hash == content_hash(fixed)
    # greeting now (1 + 2*0.25 + 1)/4 = 62.5
    assert ev.moment_results[0].score == pytest.approx(62.5)
    assert ev.score == pytest.approx((2 * 62.5 + 62.5 + 25) / 4)
    assert count(Answer) == 10 and count(MomentResult) == 3
    event = db.session.scalars(select(EvaluationEvent).where(EvaluationEvent.action == "resubmitted")).one()
    assert sorted(event.changes, key=lambda c: c["field"]) == [
        {"field": "greeting.smile", "old": "4", "new": "2"},
        {"field": "notes", "old": "Busy lunchtime", "new": "Busy, fixed"},
    ]
    # resending the fixed version is a plain replay now; other content is a conflict again
    assert not submit_evaluation(org.id, shopper, "shopper", fixed).resubmitted
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", answer(dict(fixed), "greeting", "smile", 3))
    assert caught.value.status == 409


def test_only_the_evaluator_may_resubmit(world, make):
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    ev = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    ev.status = "returned"
    db.session.commit()
    other = make.user(org, "shopper")
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, other, "shopper", answer(dict(payload), "greeting", "smile", 1))
    assert caught.value.status == 409
    # nor does someone else's identical replay reveal the evaluation
    with pytest.raises(SubmissionError):
        submit_evaluation(org.id, other, "shopper", payload)


def test_visible_evaluations_by_role(world, make):
    org, shopper, journey, location = world
    other_location = make.location(org)
    shopper2 = make.user(org, "shopper")
    staff = make.user(org, "staff", location=location)
    mine = make.evaluation(org, journey, location, shopper)
    theirs = make.evaluation(org, journey, other_location, shopper2)
    staff_own = make.evaluation(org, journey, location, staff)
    other_org = make.org()
    make.evaluation(other_org, make.journey(other_org), make.location(other_org), make.user(other_org, "manager"),
                    source="shopper")

    def ids(user, role):
        return {e.id for e in db.session.scalars(visible_evaluations(org.id, user, role))}

    assert ids(shopper, "shopper") == {mine.id}
    assert ids(staff, "staff") == {mine.id, staff_own.id}
    assert ids(make.user(org, "manager"), "manager") == {mine.id, theirs.id, staff_own.id}
    assert ids(shopper, "nobody") == set()


def test_factory_builds_valid_evaluations(world, make):
    org, shopper, journey, location = world
    ev = make.evaluation(org, journey, location, shopper, {"greeting.smile": (5, "lovely"), "order.verdict": "magical"},
                                 status="rejected", notes="n")
    assert ev.status == "rejected" and ev.notes == "n"
    assert {(a.moment_key, a.question_key): (a.value, a.note) for a in ev.answers} == {
        ("greeting", "greeted"): ("yes", ""), ("greeting", "smile"): ("5", "lovely"),
        ("greeting", "verdict"): ("neutral", ""), ("order", "verdict"): ("magical", ""),
        ("farewell", "verdict"): ("neutral", ""),
    }


def test_evaluation_to_dict(world):
    org, shopper, journey, location = world
    ev = submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location)).evaluation
    db.session.commit()
    data = evaluation_to_dict(ev, with_answers=True)
    assert data["started_at"] == "2024-05-01T12:30:00Z" and data["version"] == 1
    assert data["moments"][0] == {"key": "greeting", "score": 87.5, "critical_fail": False, "verdict": "magical",
                                  "duration_seconds": 12.5, "note": ""}
    assert data["answers"][0] == {"moment": "greeting", "question": "greeted", "value": "yes", "note": "at once",
                                  "score": 1.0}
    assert {"moment": "greeting", "question": "smile", "value": 4, "note": "", "score": 0.75} in data["answers"]
    assert [a["moment"] for a in data["answers"]][-1] == "farewell"
    assert "answers" not in evaluation_to_dict(ev, with_answers=False)


def test_two_threads_sending_the_same_evaluation_store_one(app, world):
    """Real concurrency: both requests may pass the lookup; the unique constraint sorts it out."""
    import threading

    from auditapp.auth.models import User

    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    org_id, user_id = org.id, shopper.id
    barrier = threading.Barrier(2)
    outcomes: list = []

    def send():
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                result = submit_evaluation(org_id, user, "shopper", dict(payload))
                db.session.commit()
                outcomes.append((result.created, result.evaluation.id))
            except Exception as error:  # reported by the assertion below
                outcomes.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2 and all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sorted(created for created, _ in outcomes) == [False, True]
    assert len({evaluation_id for _, evaluation_id in outcomes}) == 1
    assert count(Evaluation) == 1 and count(MomentResult) == 3


def test_a_stale_fix_cannot_overwrite_a_newer_round(world):
    """A fix made from revision 1 and queued on a phone arrives after the evaluation was fixed elsewhere (revision 2)
    and returned again: it is refused with 409 and nothing changes; a fix made from revision 2 goes through."""
    org, shopper, journey, location = world
    payload = full_payload(journey, location)
    ev = submit_evaluation(org.id, shopper, "shopper", payload).evaluation
    ev.status = "returned"
    db.session.commit()
    first_fix = answer(full_payload(journey, location, client_uuid=payload["client_uuid"], base_revision=1),
                       "greeting", "smile", 2)
    assert submit_evaluation(org.id, shopper, "shopper", first_fix).resubmitted
    ev.status = "returned"  # the reviewer sends it back once more
    db.session.commit()
    stale = answer(full_payload(journey, location, client_uuid=payload["client_uuid"], base_revision=1),
                   "greeting", "smile", 5)
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", stale)
    assert caught.value.status == 409 and fields_of(caught.value) == {"base_revision"}
    db.session.rollback()
    assert db.session.get(Evaluation, ev.id).revision == 2
    with pytest.raises(SubmissionError) as caught:
        submit_evaluation(org.id, shopper, "shopper", {**stale, "base_revision": "two"})
    assert caught.value.status == 422
    current = {**stale, "base_revision": 2}
    assert submit_evaluation(org.id, shopper, "shopper", current).evaluation.revision == 3
