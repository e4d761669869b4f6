"""Versioning: edits never change what was collected; results join across versions by moment and question key."""
from __future__ import annotations

import pytest

from auditapp.auth.models import AuditLog
from auditapp.evaluations.models import Answer, Evaluation, MomentResult
from auditapp.extensions import db
from auditapp.journeys import versioning
from auditapp.journeys.models import Journey, JourneyVersion, Moment, Question
from auditapp.journeys.spec import VERDICT_KEY


@pytest.fixture
def setup(make, auth):
    org = make.org()
    manager = make.user(org, "manager", email="m@example.com")
    shopper = make.user(org, "shopper", email="s@example.com")
    location = make.location(org)
    journey = make.journey(org)
    auth.login("m@example.com")
    return org, manager, shopper, location, journey


def _fresh(journey_id: int) -> Journey:
    db.session.expire_all()
    return db.session.get(Journey, journey_id)


def _moment(version: JourneyVersion, key: str) -> Moment:
    return next(m for m in version.moments if m.key == key)


def _answers(evaluation: Evaluation) -> dict[str, tuple]:
    return {f"{a.moment_key}.{a.question_key}": (a.value, a.score, a.question_id) for a in evaluation.answers}


def test_edits_go_in_place_while_nobody_has_answered(client, setup):
    _, _, _, _, journey = setup
    greeting = _moment(journey.current_version, "greeting")
    client.post(f"/journeys/{journey.id}/moments/{greeting.id}/edit", data={
        "name": "Welcome", "key": "greeting", "channel": "phone", "kind": "basic", "weight": "1"})
    journey = _fresh(journey.id)
    assert [v.number for v in journey.versions] == [1]
    assert _moment(journey.current_version, "greeting").name == "Welcome"
    page = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "Unpublished changes" not in page and "changes apply straight away" in page


def test_answer_v1_edit_and_publish_answer_v2_both_keep_their_questions_and_scores(client, make, setup):
    org, _, shopper, location, journey = setup
    first = make.evaluation(org, journey, location, shopper, answers={
        "greeting.greeted": "yes", "greeting.smile": 5, "greeting.verdict": "magical",
        "order.clean": "yes", "order.wait": 90, "order.speed": "Quick", "order.verdict": "neutral",
        "farewell.mood": "magical", "farewell.verdict": "magical"})
    first_id, first_score = first.id, first.score
    first_answers = _answers(first)
    first_moments = {r.moment_key: (r.score, r.moment_id) for r in first.moment_results}
    v1 = journey.current_version
    assert first.version_id == v1.id and first_score is not None

    # The manager edits: a question changes weight, one is deleted, one is added, a moment is deleted.
    greeting = _moment(v1, "greeting")
    smile = next(q for q in greeting.questions if q.key == "smile")
    page = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "next change starts draft version 2" in page
    client.post(f"/journeys/{journey.id}/questions/{smile.id}/edit", data={
        "text": "How warm was the welcome?", "key": "smile", "type": "rating", "options": "", "target": "",
        "help": "", "weight": "4"})
    journey = _fresh(journey.id)
    draft = versioning.draft_version(journey)
    assert draft is not None and draft.number == 2 and journey.current_version.number == 1
    page = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "Unpublished changes" in page and "draft version 2" in page

    greeted_v1 = next(q for q in greeting.questions if q.key == "greeted")
    client.post(f"/journeys/{journey.id}/questions/{greeted_v1.id}/delete")  # an id of v1: applied to the draft
    farewell_v1 = _moment(v1, "farewell")
    client.post(f"/journeys/{journey.id}/moments/{farewell_v1.id}/delete")
    client.post(f"/journeys/{journey.id}/moments/{_moment(draft, 'greeting').id}/questions/new", data={
        "text": "Name badge visible?", "key": "badge", "type": "yes_no", "required": "y", "weight": "1",
        "options": "", "target": ""})

    # Nothing has changed for version 1 or its evaluation yet.
    v1 = db.session.get(JourneyVersion, v1.id)
    assert [m.key for m in v1.moments] == ["greeting", "order", "farewell"]
    assert [q.key for q in _moment(v1, "greeting").questions] == ["greeted", "smile", VERDICT_KEY]
    assert _moment(v1, "greeting").questions[1].weight == 2.0

    assert client.post(f"/journeys/{journey.id}/publish").status_code == 302
    journey = _fresh(journey.id)
    v2 = journey.current_version
    assert v2.number == 2 and v2.status == "published"
    assert db.session.get(JourneyVersion, v1.id).status == "retired"
    assert [m.key for m in v2.moments] == ["greeting", "order"]
    assert [q.key for q in _moment(v2, "greeting").questions] == ["smile", "badge", VERDICT_KEY]

    second = make.evaluation(org, journey, location, shopper, answers={
        "greeting.smile": 5, "greeting.badge": "no", "greeting.verdict": "neutral", "order.verdict": "neutral"})
    assert second.version_id == v2.id

    # The first evaluation still points at version 1, with the very questions, answers and scores it had.
    db.session.expire_all()
    first = db.session.get(Evaluation, first_id)
    assert first.version_id == v1.id and first.score == first_score
    assert _answers(first) == first_answers
    assert {r.moment_key: (r.score, r.moment_id) for r in first.moment_results} == first_moments
    for answer in first.answers:
        assert answer.question.moment.version_id == v1.id and answer.question.key == answer.question_key
    assert "farewell" in {r.moment_key for r in first.moment_results}
    assert db.session.get(Question, greeted_v1.id) is not None  # deleted from v2 only

    # The second evaluation answered version 2's questions, scored with version 2's weights.
    second = db.session.get(Evaluation, second.id)
    assert {a.question_key for a in second.answers} >= {"smile", "badge"}
    for answer in second.answers:
        assert answer.question.moment.version_id == v2.id
    greeting_result = next(r for r in second.moment_results if r.moment_key == "greeting")
    # smile 5 -> 1.0 with weight 4, badge no -> 0 with weight 1, verdict neutral -> 0.5 with weight 1
    assert greeting_result.score == pytest.approx(100 * (4 * 1.0 + 0 + 0.5) / 6)
    # Results across versions join by key: both evaluations have a 'greeting' moment result.
    keys = db.session.scalars(db.select(MomentResult.moment_key).where(MomentResult.moment_key == "greeting")).all()
    assert len(keys) == 2
    assert Answer.query.filter_by(question_key="smile").count() == 2


def test_discard_draft_restores_the_published_version(client, make, setup):
    org, _, shopper, location, journey = setup
    make.evaluation(org, journey, location, shopper)
    order = _moment(journey.current_version, "order")
    client.post(f"/journeys/{journey.id}/moments/{order.id}/move", data={"direction": "up"})
    journey = _fresh(journey.id)
    draft = versioning.draft_version(journey)
    assert [m.key for m in draft.moments] == ["order", "greeting", "farewell"]
    assert [m.key for m in journey.current_version.moments] == ["greeting", "order", "farewell"]
    client.post(f"/journeys/{journey.id}/discard")
    journey = _fresh(journey.id)
    assert versioning.draft_version(journey) is None
    assert [v.number for v in journey.versions] == [1]
    assert {"version.draft", "version.discard"} <= {a.action for a in AuditLog.query}


def test_move_with_fetch_that_starts_a_draft_asks_the_page_to_reload(client, make, setup):
    org, _, shopper, location, journey = setup
    make.evaluation(org, journey, location, shopper)
    farewell = _moment(journey.current_version, "farewell")
    response = client.post(f"/journeys/{journey.id}/moments/{farewell.id}/move", data={"direction": "up"},
                           headers={"Accept": "application/json"})
    assert response.json["ok"] is True and response.json["reload"] is True


def test_keys_with_answers_cannot_change(client, make, setup):
    org, _, shopper, location, journey = setup
    make.evaluation(org, journey, location, shopper)
    greeting = _moment(journey.current_version, "greeting")
    page = client.post(f"/journeys/{journey.id}/moments/{greeting.id}/edit", data={
        "name": "Greeting", "key": "welcome", "channel": "face_to_face", "kind": "basic", "weight": "1"}).get_data(as_text=True)
    assert "Answers were collected under the key" in page
    assert [m.key for m in _fresh(journey.id).current_version.moments][0] == "greeting"
    greeted = next(q for q in greeting.questions if q.key == "greeted")
    page = client.post(f"/journeys/{journey.id}/questions/{greeted.id}/edit", data={
        "text": "Greeted?", "key": "was_greeted", "type": "yes_no", "weight": "1", "options": "", "target": ""}
    ).get_data(as_text=True)
    assert "Answers were collected under the key" in page
    assert versioning.draft_version(_fresh(journey.id)) is None  # a refused edit leaves no draft behind


def test_delete_confirmation_says_answers_are_kept(client, make, setup):
    org, _, shopper, location, journey = setup
    make.evaluation(org, journey, location, shopper)
    order = _moment(journey.current_version, "order")
    page = client.get(f"/journeys/{journey.id}/moments/{order.id}/delete").get_data(as_text=True)
    assert "Their answers and scores are kept" in page


def test_new_evaluations_use_the_published_version_not_the_draft(client, make, setup):
    org, _, shopper, location, journey = setup
    make.evaluation(org, journey, location, shopper)
    greeting = _moment(journey.current_version, "greeting")
    client.post(f"/journeys/{journey.id}/moments/{greeting.id}/questions/new", data={
        "text": "New required question", "key": "extra", "type": "yes_no", "required": "y", "weight": "1",
        "options": "", "target": ""})
    journey = _fresh(journey.id)
    evaluation = make.evaluation(org, journey, location, shopper)  # would fail if 'extra' were live
    assert evaluation.version_id == journey.current_version.id and journey.current_version.number == 1
