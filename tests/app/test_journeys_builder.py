"""The journey builder pages: journeys, moments, checklists, reordering, the verdict rule, priorities."""
from __future__ import annotations

import pytest

from auditapp.auth.models import AuditLog
from auditapp.extensions import db
from auditapp.journeys.models import Journey, Moment, Question
from auditapp.journeys.spec import VERDICT_KEY, JourneySpec, MomentSpec


@pytest.fixture
def manager(make, auth):
    org = make.org()
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


def _keys(journey: Journey) -> list[str]:
    db.session.expire_all()
    version = db.session.get(Journey, journey.id).current_version
    return [m.key for m in version.moments]


def _moment(journey: Journey, key: str) -> Moment:
    db.session.expire_all()
    return next(m for m in db.session.get(Journey, journey.id).current_version.moments if m.key == key)


def test_index_lists_the_organisations_journeys(client, make, manager):
    make.journey(manager, name="Café order")
    make.journey(make.org(), name="Someone else's journey")
    page = client.get("/journeys/").get_data(as_text=True)
    assert "Café order" in page and "Published v1" in page
    assert "Someone else" not in page


def test_create_a_journey_then_add_a_moment_gets_a_verdict(client, manager):
    response = client.post("/journeys/new", data={"name": "Bank visit", "description": "Opening an account"})
    journey = Journey.query.filter_by(name="Bank visit").one()
    assert response.status_code == 302 and response.location.endswith(f"/journeys/{journey.id}")
    assert journey.org_id == manager.id and journey.current_version is None  # a draft until published
    page = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "Not published yet" in page

    response = client.post(f"/journeys/{journey.id}/moments/new", data={
        "name": "Greeted at the desk", "key": "", "channel": "face_to_face", "kind": "basic", "priority": "y",
        "weight": "2", "expected_seconds": "30", "description": "First words"})
    assert response.status_code == 302
    moment = Moment.query.one()
    assert (moment.key, moment.channel, moment.kind, moment.priority, moment.weight, moment.expected_seconds) == (
        "greeted_at_the_desk", "face_to_face", "basic", True, 2.0, 30)
    [verdict] = moment.questions
    assert (verdict.key, verdict.type, verdict.required, verdict.weight, verdict.critical) == (VERDICT_KEY, "mnm", True, 1.0, False)

    assert client.post(f"/journeys/{journey.id}/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(Journey, journey.id).current_version.status == "published"
    assert {"journey.create", "moment.create", "version.publish"} <= {a.action for a in AuditLog.query}


def test_publishing_an_empty_journey_is_refused(client, manager):
    client.post("/journeys/new", data={"name": "Empty"})
    journey = Journey.query.one()
    page = client.post(f"/journeys/{journey.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "Add at least one moment" in page
    assert db.session.get(Journey, journey.id).current_version is None


def test_moment_form_errors_are_next_to_the_field_and_keep_the_input(client, make, manager):
    journey = make.journey(manager)
    response = client.post(f"/journeys/{journey.id}/moments/new", data={
        "name": "Parking", "key": "Bad Key!", "channel": "face_to_face", "kind": "", "weight": "heavy"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Use only lower-case letters" in page and "Enter a number of 0 or more" in page
    assert 'value="Bad Key!"' in page and 'value="heavy"' in page and 'value="Parking"' in page
    # a key already used in the journey
    page = client.post(f"/journeys/{journey.id}/moments/new", data={
        "name": "Again", "key": "greeting", "channel": "phone", "weight": "1"}).get_data(as_text=True)
    assert "already has the key" in page
    assert len(_keys(journey)) == 3


def test_priority_warning_above_five_and_nudge_below_three(client, make, manager):
    moments = [MomentSpec(key=f"m{i}", name=f"Moment {i}", channel="phone", priority=i < 6) for i in range(7)]
    many = make.journey(manager, spec=JourneySpec(name="Many priorities", moments=moments))
    page = client.get(f"/journeys/{many.id}").get_data(as_text=True)
    assert "Too many priorities" in page and "6 moments are marked as priorities" in page

    few = make.journey(manager, spec=JourneySpec(name="Few", moments=[
        MomentSpec(key="a", name="A", channel="email", priority=True), MomentSpec(key="b", name="B", channel="post")]))
    page = client.get(f"/journeys/{few.id}").get_data(as_text=True)
    assert "Too many priorities" not in page and "1 priority moment so far" in page

    good = make.journey(manager)  # sample: 2 priorities of 3 moments -> nudge
    client.post(f"/journeys/{good.id}/moments/{_moment(good, 'farewell').id}/edit", data={
        "name": "Farewell", "key": "farewell", "channel": "face_to_face", "kind": "basic", "priority": "y", "weight": "1"})
    page = client.get(f"/journeys/{good.id}").get_data(as_text=True)
    assert "Tip:" not in page and "Too many priorities" not in page


def test_timeline_cards_show_channel_label_kind_priority_and_question_count(client, make, manager):
    journey = make.journey(manager)
    page = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    start = page.index('id="moment-')
    greeting = page[start:page.index('id="moment-', start + 1)]
    assert 'class="channel ch-face_to_face">Face to face<' in greeting
    assert "Basic" in greeting and "Priority" in greeting
    assert "3 questions" in greeting  # greeted, smile and the verdict
    assert page.index("Greeting at the door") < page.index(">Ordering<") < page.index(">Farewell<")


def test_reorder_moments_without_javascript(client, make, manager):
    journey = make.journey(manager)
    order = _moment(journey, "order")
    response = client.post(f"/journeys/{journey.id}/moments/{order.id}/move", data={"direction": "up"})
    assert response.status_code == 302 and f"#moment-{order.id}" in response.location
    assert _keys(journey) == ["order", "greeting", "farewell"]
    client.post(f"/journeys/{journey.id}/moments/{_moment(journey, 'greeting').id}/move", data={"direction": "down"})
    assert _keys(journey) == ["order", "farewell", "greeting"]
    # moving the first moment up changes nothing
    client.post(f"/journeys/{journey.id}/moments/{_moment(journey, 'order').id}/move", data={"direction": "up"})
    assert _keys(journey) == ["order", "farewell", "greeting"]
    positions = [m.position for m in db.session.get(Journey, journey.id).current_version.moments]
    assert positions == [0, 1, 2]
    assert AuditLog.query.filter_by(action="moment.move").count() == 2


def test_reorder_with_fetch_answers_json(client, make, manager):
    journey = make.journey(manager)
    farewell = _moment(journey, "farewell")
    response = client.post(f"/journeys/{journey.id}/moments/{farewell.id}/move", data={"direction": "up"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200
    ids = {m.key: m.id for m in db.session.get(Journey, journey.id).current_version.moments}
    assert response.json == {"ok": True, "reload": False, "order": [ids["greeting"], ids["farewell"], ids["order"]]}


def test_questions_add_edit_reorder_delete(client, make, manager):
    journey = make.journey(manager)
    moment = _moment(journey, "greeting")
    base = f"/journeys/{journey.id}"
    response = client.post(f"{base}/moments/{moment.id}/questions/new", data={
        "text": "How long did you wait?", "key": "wait_seconds", "type": "number", "target": "<=60",
        "options": "", "help": "Count in seconds", "required": "y", "weight": "1.5"})
    assert response.status_code == 302
    moment = _moment(journey, "greeting")
    assert [q.key for q in moment.questions] == ["greeted", "smile", "wait_seconds", VERDICT_KEY]  # verdict stays last
    wait = moment.questions[2]
    assert (wait.type, wait.target, wait.required, wait.weight, wait.help) == ("number", "<=60", True, 1.5, "Count in seconds")

    client.post(f"{base}/questions/{wait.id}/edit", data={
        "text": "Which drink?", "key": "wait_seconds", "type": "choice", "options": "Coffee=1|Tea=0.5|Water",
        "target": "", "help": "", "weight": "1"})
    wait = db.session.get(Question, wait.id)
    assert wait.type == "choice" and wait.options == [["Coffee", 1.0], ["Tea", 0.5], ["Water", None]]
    assert wait.required is False

    client.post(f"{base}/questions/{wait.id}/move", data={"direction": "up"})
    assert [q.key for q in _moment(journey, "greeting").questions] == ["greeted", "wait_seconds", "smile", VERDICT_KEY]
    # the last movable question cannot pass the verdict
    smile = next(q for q in _moment(journey, "greeting").questions if q.key == "smile")
    client.post(f"{base}/questions/{smile.id}/move", data={"direction": "down"})
    assert [q.key for q in _moment(journey, "greeting").questions][-1] == VERDICT_KEY

    assert "Delete this question?" in client.get(f"{base}/questions/{wait.id}/delete").get_data(as_text=True)
    client.post(f"{base}/questions/{wait.id}/delete")
    assert [q.key for q in _moment(journey, "greeting").questions] == ["greeted", "smile", VERDICT_KEY]
    actions = [a.action for a in AuditLog.query.order_by(AuditLog.id)]
    assert actions.count("question.create") == 1 and "question.update" in actions and "question.delete" in actions


@pytest.mark.parametrize("data, message", [
    ({"type": "choice", "options": ""}, "A choice question needs options"),
    ({"type": "choice", "options": "Yes=2|No=0"}, "scores must be between 0 and 1"),
    ({"type": "yes_no", "options": "Yes=1"}, "Options are only for choice questions"),
    ({"type": "number", "target": "about 5"}, "must look like &lt;=N or &gt;=N"),
    ({"type": "text", "target": "<=5"}, "A target is only for number questions"),
    ({"type": "yes_no", "key": "verdict"}, "belongs to the moment&#39;s verdict question"),
    ({"type": "yes_no", "weight": "-1"}, "Enter a number of 0 or more"),
])
def test_question_form_errors(client, make, manager, data, message):
    journey = make.journey(manager)
    moment = _moment(journey, "farewell")
    form = {"text": "Typed question", "key": "", "options": "", "target": "", "weight": "1", **data}
    response = client.post(f"/journeys/{journey.id}/moments/{moment.id}/questions/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'value="Typed question"' in page
    assert len(_moment(journey, "farewell").questions) == 4


def test_verdict_is_protected(client, make, manager):
    journey = make.journey(manager)
    moment = _moment(journey, "greeting")
    verdict = next(q for q in moment.questions if q.key == VERDICT_KEY)
    base = f"/journeys/{journey.id}"
    page = client.get(f"{base}/moments/{moment.id}").get_data(as_text=True)
    assert f"/questions/{verdict.id}/delete" not in page
    client.post(f"{base}/questions/{verdict.id}/delete")
    assert Question.query.filter_by(id=verdict.id).count() == 1
    # only wording and help change; type, required, weight and critical stay
    client.post(f"{base}/questions/{verdict.id}/edit", data={
        "text": "How did the welcome feel?", "help": "Think of the customer", "type": "yes_no", "required": "",
        "weight": "5", "critical": "y", "key": "other"})
    verdict = db.session.get(Question, verdict.id)
    assert verdict.text == "How did the welcome feel?" and verdict.help == "Think of the customer"
    assert (verdict.key, verdict.type, verdict.required, verdict.weight, verdict.critical) == (VERDICT_KEY, "mnm", True, 1.0, False)
    assert client.post(f"{base}/questions/{verdict.id}/move", data={"direction": "up"}).status_code == 302
    assert _moment(journey, "greeting").questions[-1].key == VERDICT_KEY


def test_delete_moment_and_edit_journey_and_archive(client, make, manager):
    journey = make.journey(manager)
    farewell = _moment(journey, "farewell")
    page = client.get(f"/journeys/{journey.id}/moments/{farewell.id}/delete").get_data(as_text=True)
    assert "Delete this moment?" in page and "Nobody has answered" in page
    client.post(f"/journeys/{journey.id}/moments/{farewell.id}/delete")
    assert _keys(journey) == ["greeting", "order"]

    client.post(f"/journeys/{journey.id}/edit", data={"name": "Coffee run", "description": "Quick"})
    assert db.session.get(Journey, journey.id).name == "Coffee run"
    client.post(f"/journeys/{journey.id}/archive")
    assert db.session.get(Journey, journey.id).archived is True
    page = client.get("/journeys/").get_data(as_text=True)
    assert "Archived" in page
    client.post(f"/journeys/{journey.id}/restore")
    assert db.session.get(Journey, journey.id).archived is False
    assert {"moment.delete", "journey.update", "journey.archive", "journey.restore"} <= {a.action for a in AuditLog.query}


def test_pages_render_for_a_manager(client, make, manager):
    journey = make.journey(manager)
    moment = _moment(journey, "order")
    question = moment.questions[0]
    for url in ["/journeys/", "/journeys/new", f"/journeys/{journey.id}", f"/journeys/{journey.id}/edit",
                f"/journeys/{journey.id}/moments/new", f"/journeys/{journey.id}/moments/{moment.id}",
                f"/journeys/{journey.id}/moments/{moment.id}/edit", f"/journeys/{journey.id}/moments/{moment.id}/questions/new",
                f"/journeys/{journey.id}/questions/{question.id}/edit", "/journeys/import", f"/journeys/{journey.id}/import",
                "/journeys/library"]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page and " onclick" not in page, url
