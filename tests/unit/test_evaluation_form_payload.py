"""The form-to-payload mapping of the phone form (no Flask app): what a posted form becomes for submit_evaluation."""
from __future__ import annotations

from auditapp.evaluations.forms import build_fields, errors_by_field, payload_from_form
from tests.factories import sample_spec


def moments():
    from auditapp.journeys.spec import ensure_verdicts

    return ensure_verdicts(sample_spec()).moments


def test_answered_questions_become_contract_answers_with_typed_values():
    form = {
        "client_uuid": "0b8e5a8e-1111-4a4a-9c9c-123456789abc", "location_id": "7", "started_at": "2024-05-01T10:00:00Z",
        "answers.greeting.greeted": "yes", "answer_notes.greeting.greeted": " at once ",
        "answers.greeting.smile": "4", "answers.order.wait": "90.5", "answers.order.speed": "Quick",
        "answers.farewell.mood": "na", "answer_notes.farewell.comment": "only a note", "answers.greeting.verdict": "magical",
        "durations.order": "95", "durations.greeting": "", "moment_notes.farewell": "Nobody said goodbye", "notes": "Busy",
    }
    payload = payload_from_form(form, moments(), journey_id=3, source="shopper", finished_at="2024-05-01T10:30:00Z",
                                assignment_id=9)
    assert payload["client_uuid"] == form["client_uuid"]
    assert (payload["journey_id"], payload["location_id"], payload["assignment_id"]) == (3, 7, 9)
    assert payload["finished_at"] == "2024-05-01T10:30:00Z" and payload["notes"] == "Busy"
    answers = {(a["moment"], a["question"]): (a["value"], a["note"]) for a in payload["answers"]}
    assert answers == {
        ("greeting", "greeted"): ("yes", "at once"),
        ("greeting", "smile"): (4, ""),
        ("greeting", "verdict"): ("magical", ""),
        ("order", "wait"): (90.5, ""),
        ("order", "speed"): ("Quick", ""),
        ("farewell", "mood"): ("na", ""),
        ("farewell", "comment"): (None, "only a note"),
    }
    assert payload["durations"] == {"order": 95}
    assert payload["moment_notes"] == {"farewell": "Nobody said goodbye"}


def test_values_that_are_not_numbers_stay_as_typed_for_the_server_to_reject():
    form = {"answers.order.wait": "ninety", "answers.greeting.smile": "na", "durations.order": "soon", "location_id": ""}
    payload = payload_from_form(form, moments(), journey_id=1, source="staff", finished_at="x")
    answers = {(a["moment"], a["question"]): a["value"] for a in payload["answers"]}
    assert answers[("order", "wait")] == "ninety" and answers[("greeting", "smile")] == "na"
    assert payload["durations"] == {"order": "soon"}
    assert payload["location_id"] is None and "assignment_id" not in payload
    assert payload["started_at"] is None and payload["source"] == "staff"


def test_service_errors_land_on_the_fields_they_name():
    errors = errors_by_field([
        {"field": "answers.greeting.verdict", "message": "Required: choose miserable, neutral or magical"},
        {"field": "answers.order.wait.value", "message": "Is too large"},
        {"field": "answers.order.wait", "message": "Also odd"},
        {"field": "durations.order", "message": "Must be a number"},
        {"field": "location_id", "message": "No such location"},
    ])
    assert errors["answers.order.wait"] == "Is too large Also odd"
    fields = build_fields(moments(), {"answers.order.wait": "1e99", "moment_notes.order": "kept"}, errors)
    by_key = {m.key: m for m in fields}
    order = by_key["order"]
    wait = next(q for q in order.questions if q.key == "wait")
    assert wait.value == "1e99" and wait.error == "Is too large Also odd"
    assert order.duration_error == "Must be a number" and order.note == "kept" and order.has_error
    verdict = by_key["greeting"].questions[-1]
    assert verdict.is_verdict and verdict.error == "Required: choose miserable, neutral or magical"
    assert [value for value, _ in verdict.options] == ["miserable", "neutral", "magical"]
    mood = next(q for q in by_key["farewell"].questions if q.key == "mood")
    assert mood.options[-1] == ("na", "N/A")
    assert not by_key["farewell"].has_error
    assert [m.position for m in fields] == [1, 2, 3] and fields[0].total == 3
