"""Review: the list, the page, approve / reject / return, the fix loop, history, and who may do what."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from auditapp.auth.models import AuditLog
from auditapp.evaluations.models import Answer, Evaluation, EvaluationEvent
from auditapp.extensions import db
from auditapp.results.queries import Filters, scorecard
from auditapp.timeutil import utcnow
from auditapp.visits.review import ReviewError, ReviewFilters, approve, reject, return_to_evaluator, review_list


@pytest.fixture
def world(make):
    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com", name="Boss")
    sam = make.user(org, "shopper", email="sam@example.com", name="Sam")
    kim = make.user(org, "shopper", email="kim@example.com", name="Kim")
    location = make.location(org, name="Harbour")
    other_location = make.location(org, name="Airport")
    staff = make.user(org, "staff", email="staff@example.com", location=location)
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, sam=sam, kim=kim, staff=staff, location=location,
                                  other_location=other_location, journey=journey))


def good(make, world, user=None, location=None, **kw):
    answers = {"greeting.verdict": "magical", "order.verdict": "magical", "farewell.verdict": "magical",
               "greeting.smile": 5}
    answers.update(kw.pop("answers", {}))
    return make.evaluation(world.org, world.journey, location or world.location, user or world.sam, answers=answers, **kw)


def bad(make, world, user=None, **kw):
    return make.evaluation(world.org, world.journey, world.location, user or world.kim, answers={
        "greeting.verdict": "miserable", "order.verdict": "miserable", "farewell.verdict": "miserable",
        "greeting.greeted": "no", "greeting.smile": 1}, **kw)


def card(world):
    return scorecard(world.org, Filters(journey_id=world.journey.id))


def test_review_list_newest_first_with_filters_and_flag_badges(world, make, client, auth):
    first = good(make, world)
    start = utcnow() - timedelta(hours=3)
    flagged = bad(make, world, started_at=start, finished_at=start + timedelta(seconds=20))
    elsewhere = good(make, world, user=world.kim, location=world.other_location)
    assert [r["evaluation"].id for r in review_list(world.org.id, ReviewFilters())] == [elsewhere.id, flagged.id, first.id]
    assert [r["evaluation"].id for r in review_list(world.org.id, ReviewFilters(flag="short_visit"))] == [flagged.id]
    assert [r["evaluation"].id for r in review_list(world.org.id, ReviewFilters(flag="any"))] == [flagged.id]
    assert [r["evaluation"].id for r in review_list(world.org.id, ReviewFilters(evaluator_id=world.sam.id))] == [first.id]
    assert [r["evaluation"].id for r in review_list(world.org.id, ReviewFilters(location_id=world.other_location.id))] == [elsewhere.id]

    auth.login("boss@example.com")
    page = client.get("/visits/review").data.decode()
    assert page.index(f"#{elsewhere.id} ") < page.index(f"#{flagged.id} ") < page.index(f"#{first.id} ")
    assert "Short visit" in page
    page = client.get("/visits/review?flag=short_visit").data.decode()
    assert f"#{flagged.id} " in page and f"#{first.id} " not in page
    page = client.get(f"/visits/review?evaluator={world.kim.id}&location={world.location.id}").data.decode()
    assert f"#{flagged.id} " in page and f"#{elsewhere.id} " not in page and f"#{first.id} " not in page
    approve(first, world.manager)
    db.session.commit()
    page = client.get("/visits/review?status=approved").data.decode()
    assert f"#{first.id} " in page and f"#{flagged.id} " not in page


def test_review_page_shows_answers_notes_photo_scores_flags_history(world, make, client, auth):
    from tests.app.test_integrity import _photo

    start = utcnow() - timedelta(hours=3)
    evaluation = good(make, world, notes="Lovely visit overall", started_at=start, finished_at=start + timedelta(seconds=20),
                      answers={"greeting.greeted": ("yes", "Greeted at the door"), "farewell.comment": "See you soon"},
                      moment_notes={"order": "Queue of four people"})
    photo = _photo(world.org, world.sam, evaluation, b"receipt")
    receipt_question = world.journey.current_version.moments[2].questions[2]
    assert receipt_question.key == "receipt"
    db.session.add(Answer(evaluation_id=evaluation.id, question_id=receipt_question.id, moment_key="farewell",
                          question_key="receipt", value=photo.public_id))
    db.session.commit()
    auth.login("boss@example.com")
    page = client.get(f"/visits/review/{evaluation.id}").data.decode()
    for text in ("Greeting at the door", "Greeted at the door", "Queue of four people", "Lovely visit overall",
                 "See you soon", f'src="/api/v1/photos/{photo.public_id}"', "Short visit", "Sent</strong> by Sam",
                 "Were you greeted within 30 seconds?"):
        assert text in page, text
    assert ">100<" in page  # moment and evaluation scores


def test_approve_records_event_and_audit(world, make, client, auth):
    evaluation = good(make, world)
    auth.login("boss@example.com")
    response = client.post(f"/visits/review/{evaluation.id}/approve", data={"approve-comment": "Thorough"})
    assert response.status_code == 302
    db.session.refresh(evaluation)
    assert evaluation.status == "approved" and evaluation.reviewed_by_id == world.manager.id
    event = db.session.scalar(select(EvaluationEvent).where(EvaluationEvent.action == "approved"))
    assert event.user_id == world.manager.id and event.comment == "Thorough"
    assert event.changes[0] == {"field": "status", "old": "submitted", "new": "approved"}
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "evaluation.approved")).object_id == evaluation.id


def test_reject_needs_a_reason_and_then_leaves_every_aggregate(world, make, client, auth):
    kept = good(make, world)
    rejected = bad(make, world)
    before = card(world)
    assert before.evaluations == 2 and before.score == pytest.approx((kept.score + rejected.score) / 2)
    assert before.moment("greeting").miserable == 1

    auth.login("boss@example.com")
    response = client.post(f"/visits/review/{rejected.id}/reject", data={"reject-comment": "  "})
    assert response.status_code == 422 and b"Say why" in response.data
    db.session.refresh(rejected)
    assert rejected.status == "submitted"

    response = client.post(f"/visits/review/{rejected.id}/reject", data={"reject-comment": "Shopper was recognised"})
    assert response.status_code == 302
    db.session.refresh(rejected)
    assert rejected.status == "rejected" and rejected.review_comment == "Shopper was recognised"

    after = card(world)
    assert after.evaluations == 1 and after.score == pytest.approx(kept.score)
    assert after.moment("greeting").miserable == 0 and after.moment("greeting").n == 1
    token = make.token(world.manager)
    listed = client.get("/api/v1/evaluations", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    assert {e["id"]: e["status"] for e in listed}[rejected.id] == "rejected"
    if "api.scorecard" in client.application.view_functions:
        api = client.get(f"/api/v1/scorecard?journey_id={world.journey.id}", headers={"Authorization": f"Bearer {token}"})
        assert api.get_json()["evaluations"] == 1
    event = db.session.scalar(select(EvaluationEvent).where(EvaluationEvent.action == "rejected"))
    assert event.comment == "Shopper was recognised"


def test_return_fix_and_send_again(world, make, client, auth):
    evaluation = bad(make, world, user=world.sam, notes="Rushed visit")
    old_score = evaluation.score
    auth.login("boss@example.com")
    response = client.post(f"/visits/review/{evaluation.id}/return",
                           data={"return-comment": "The farewell verdict looks wrong: check your notes"})
    assert response.status_code == 302
    db.session.refresh(evaluation)
    assert evaluation.status == "returned"
    auth.logout()

    auth.login("sam@example.com")
    mine = client.get("/visits/mine").data.decode()
    assert "Returned to you" in mine and "The farewell verdict looks wrong" in mine
    assert f"/evaluations/new?fix={evaluation.id}" in mine  # the phone form in fix mode; /visits/fix/<id> still works
    form = client.get(f"/visits/fix/{evaluation.id}").data.decode()
    assert f'action="/visits/fix/{evaluation.id}"' in form and "Rushed visit" in form
    checked = re.findall(r'name="(answers\.[a-z_.]+)" value="([a-z0-9]+)" id="[^"]+" checked', form)
    assert ("answers.farewell.verdict", "miserable") in checked and ("answers.greeting.greeted", "no") in checked

    fields = {
        "client_uuid": "someone-else-s-uuid", "location_id": str(world.location.id),
        "started_at": evaluation.started_at.isoformat() + "Z", "finished_at": evaluation.finished_at.isoformat() + "Z",
        "notes": "Rushed visit, farewell was fine", "answers.greeting.greeted": "no", "answers.greeting.smile": "1",
        "answers.greeting.verdict": "miserable", "answers.order.clean": "yes", "answers.order.verdict": "miserable",
        "answers.farewell.verdict": "magical",
    }
    response = client.post(f"/visits/fix/{evaluation.id}", data=fields)
    assert response.status_code == 302, response.data.decode()[:2000]
    db.session.expire_all()
    fixed = db.session.get(Evaluation, evaluation.id)
    assert fixed.status == "submitted" and fixed.revision == 2
    assert fixed.client_uuid == evaluation.client_uuid
    farewell = next(r for r in fixed.moment_results if r.moment_key == "farewell")
    assert farewell.verdict == "magical" and farewell.score == 100
    assert fixed.score > old_score
    assert card(world).score == pytest.approx(fixed.score)  # the scores follow the fixed version

    actions = [e.action for e in fixed.events]
    assert actions == ["submitted", "returned", "resubmitted"]
    changes = {c["field"]: (c["old"], c["new"]) for c in fixed.events[-1].changes}
    assert changes["farewell.verdict"] == ("miserable", "magical")
    assert changes["notes"] == ("Rushed visit", "Rushed visit, farewell was fine")
    assert "Returned to you" not in client.get("/visits/mine").data.decode()
    # Sending again is refused politely: it is no longer returned.
    assert client.get(f"/visits/fix/{evaluation.id}").status_code == 302
    auth.logout()

    auth.login("boss@example.com")
    page = client.get(f"/visits/review/{evaluation.id}").data.decode()
    assert "Fixed and sent again" in page and "Returned for a fix" in page and "farewell.verdict" in page


def test_fix_errors_are_shown_and_input_kept(world, make, client, auth):
    evaluation = bad(make, world, user=world.sam)
    return_to_evaluator(evaluation, world.manager, "Please check")
    db.session.commit()
    auth.login("sam@example.com")
    response = client.post(f"/visits/fix/{evaluation.id}", data={
        "started_at": evaluation.started_at.isoformat() + "Z", "notes": "Typed this carefully",
        "answers.greeting.greeted": "yes", "answers.greeting.smile": "9"})
    assert response.status_code == 422
    page = response.data.decode()
    assert "Typed this carefully" in page and "Required" in page
    db.session.refresh(evaluation)
    assert evaluation.status == "returned" and evaluation.revision == 1


def test_decisions_follow_the_states(world, make):
    evaluation = good(make, world)
    with pytest.raises(ReviewError):
        reject(evaluation, world.manager, "")
    with pytest.raises(ReviewError):
        return_to_evaluator(evaluation, world.manager, " ")
    reject(evaluation, world.manager, "Wrong shop")
    with pytest.raises(ReviewError):
        return_to_evaluator(evaluation, world.manager, "fix it")  # rejected: approve or leave it
    approve(evaluation, world.manager, "Checked again: it was the right shop")
    assert evaluation.status == "approved"
    with pytest.raises(ReviewError):
        approve(evaluation, world.manager)
    staff_own = make.evaluation(world.org, world.journey, world.location, world.staff)
    with pytest.raises(ReviewError, match="shopper"):
        return_to_evaluator(staff_own, world.manager, "fix it")  # staff have no "My visits" to find it on


def test_only_the_evaluator_can_fix(world, make, client, auth):
    evaluation = bad(make, world, user=world.sam)
    return_to_evaluator(evaluation, world.manager, "Please check")
    db.session.commit()
    auth.login("kim@example.com")
    assert client.get(f"/visits/fix/{evaluation.id}").status_code == 404
    assert client.post(f"/visits/fix/{evaluation.id}", data={"notes": "x"}).status_code == 404
    assert "Returned to you" not in client.get("/visits/mine").data.decode()


def test_shoppers_see_only_their_own_evaluations_staff_their_location(world, make, client):
    from auditapp.evaluations.services import visible_evaluations

    sams = good(make, world, user=world.sam)
    kims = good(make, world, user=world.kim, location=world.other_location)
    staff_own = make.evaluation(world.org, world.journey, world.location, world.staff)
    ids = lambda user, role: {e.id for e in db.session.scalars(visible_evaluations(world.org.id, user, role))}  # noqa: E731
    assert ids(world.sam, "shopper") == {sams.id}
    assert ids(world.staff, "staff") == {sams.id, staff_own.id}
    assert ids(world.manager, "manager") == {sams.id, kims.id, staff_own.id}
    token = make.token(world.sam)
    listed = client.get("/api/v1/evaluations", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    assert [e["id"] for e in listed] == [sams.id]


@pytest.mark.parametrize("email", ["sam@example.com", "staff@example.com"])
def test_review_is_403_for_shoppers_and_staff(world, make, client, auth, email):
    evaluation = good(make, world)
    auth.login(email)
    assert client.get("/visits/review").status_code == 403
    assert client.get(f"/visits/review/{evaluation.id}").status_code == 403
    assert client.post(f"/visits/review/{evaluation.id}/reject", data={"reject-comment": "x"}).status_code == 403
    db.session.refresh(evaluation)
    assert evaluation.status == "submitted"


def test_other_organisation_gets_404(world, make, client, auth):
    evaluation = good(make, world)
    other = make.org()
    make.user(other, "manager", email="other@example.com")
    auth.login("other@example.com")
    assert client.get(f"/visits/review/{evaluation.id}").status_code == 404
    assert client.post(f"/visits/review/{evaluation.id}/approve").status_code == 404
    assert client.get(f"/visits/coaching/{evaluation.id}").status_code == 404
    assert f"#{evaluation.id} " not in client.get("/visits/review").data.decode()
    db.session.refresh(evaluation)
    assert evaluation.status == "submitted"
