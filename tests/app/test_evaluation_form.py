"""The phone form without JavaScript: start, fill, errors that keep what was typed, replays, result page access."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from auditapp.evaluations.models import Answer, Evaluation, MomentResult, Photo
from auditapp.extensions import db

FORM = "/evaluations/new?location={loc}&journey={jr}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="shopper@example.com")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    return org, shopper, location, journey


def form_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the rendered form (client_uuid, started_at, ...)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def good_answers(hidden: dict, **changes) -> dict:
    data = {
        "client_uuid": hidden["client_uuid"], "started_at": hidden["started_at"], "location_id": hidden["location_id"],
        "source": "shopper", "finished_at": "",
        "answers.greeting.greeted": "yes", "answer_notes.greeting.greeted": "straight away",
        "answers.greeting.smile": "4", "answers.greeting.verdict": "magical",
        "answers.order.wait": "90", "answers.order.speed": "Slow", "answers.order.clean": "yes",
        "answers.order.verdict": "neutral", "durations.order": "95",
        "answers.farewell.mood": "na", "answers.farewell.comment": "Said bye", "answers.farewell.verdict": "neutral",
        "moment_notes.farewell": "Nobody held the door", "notes": "Busy lunchtime",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def open_form(client, location, journey) -> dict:
    response = client.get(FORM.format(loc=location.id, jr=journey.id))
    assert response.status_code == 200
    return form_fields(response.get_data(as_text=True))


def test_start_page_lists_choices_and_preselects_from_a_qr_link(client, auth, world, make):
    org, shopper, location, journey = world
    make.location(org, name="Airport")
    auth.login("shopper@example.com")
    page = client.get("/evaluations/start").get_data(as_text=True)
    assert "Harbour" in page and "Airport" in page and journey.name in page
    assert "Start now" not in page  # two locations: nothing chosen yet
    page = client.get(f"/evaluations/start?location={location.id}&journey={journey.id}").get_data(as_text=True)
    assert "Start now" in page
    assert f'<option selected value="{location.id}">' in page


def test_start_page_refuses_another_organisations_location_without_naming_it(client, auth, world, make):
    other = make.org()
    foreign = make.location(other, name="Secret branch")
    auth.login("shopper@example.com")
    page = client.get(f"/evaluations/start?location={foreign.id}").get_data(as_text=True)
    assert "not available" in page and "Secret branch" not in page


def test_start_and_form_need_login_and_an_evaluating_role(client, auth, world, make):
    org, _, location, journey = world
    response = client.get("/evaluations/start")
    assert response.status_code == 302 and "/login" in response.location
    assert client.get(FORM.format(loc=location.id, jr=journey.id)).status_code == 302
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    assert client.get("/evaluations/start").status_code == 200


def test_staff_start_at_their_own_location_and_cannot_open_another(client, auth, make):
    org = make.org()
    home = make.location(org, name="Home branch")
    away = make.location(org, name="Away branch")
    journey = make.journey(org)
    make.user(org, "staff", email="staff@example.com", location=home)
    auth.login("staff@example.com")
    page = client.get("/evaluations/start").get_data(as_text=True)
    assert f'<option selected value="{home.id}">' in page and "Away branch" not in page
    assert client.get(FORM.format(loc=away.id, jr=journey.id)).status_code == 403
    form = client.get(FORM.format(loc=home.id, jr=journey.id)).get_data(as_text=True)
    assert "Staff self-assessment" in form and 'name="source" value="staff"' in form


def test_form_shows_every_moment_in_timeline_order(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    html = client.get(FORM.format(loc=location.id, jr=journey.id)).get_data(as_text=True)
    positions = [html.index(f'id="m-{key}"') for key in ("greeting", "order", "farewell")]
    assert positions == sorted(positions)
    assert "Moment 2 of 3" in html and 'enctype="multipart/form-data"' in html
    assert 'accept="image/*,image/heic,image/heif,.heic,.heif" capture="environment"' in html  # iPhones offer HEIC
    assert re.search(r'name="client_uuid" value="[0-9a-f-]{36}"', html)
    assert html.count('name="answers.greeting.verdict"') == 3  # miserable, neutral, magical; no N/A for a verdict


def test_form_of_another_organisation_or_unknown_journey_is_404(client, auth, world, make):
    _, _, location, _ = world
    foreign_journey = make.journey(make.org())
    auth.login("shopper@example.com")
    assert client.get(FORM.format(loc=location.id, jr=foreign_journey.id)).status_code == 404
    assert client.get(FORM.format(loc=location.id, jr=999999)).status_code == 404
    response = client.get("/evaluations/new")
    assert response.status_code == 302 and "/evaluations/start" in response.location


def test_valid_post_stores_one_evaluation_and_shows_the_result(client, auth, world):
    _, shopper, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=good_answers(hidden))
    assert response.status_code == 302
    evaluation = db.session.scalars(select(Evaluation)).one()
    assert response.location.endswith(f"/evaluations/{evaluation.id}")
    assert evaluation.client_uuid == hidden["client_uuid"]
    assert evaluation.evaluator_id == shopper.id and evaluation.source == "shopper"
    assert evaluation.notes == "Busy lunchtime" and evaluation.finished_at is not None
    answers = {(a.moment_key, a.question_key): a for a in evaluation.answers}
    assert answers[("greeting", "greeted")].value == "yes"
    assert answers[("greeting", "greeted")].note == "straight away"
    assert answers[("greeting", "smile")].number == 4
    assert answers[("order", "speed")].value == "Slow"
    assert answers[("farewell", "mood")].value == "na"
    results = {r.moment_key: r for r in evaluation.moment_results}
    assert results["order"].duration_seconds == 95
    assert results["farewell"].note == "Nobody held the door"
    page = client.get(response.location).get_data(as_text=True)
    assert "Sent and confirmed" in page and "Greeting at the door" in page and "Nobody held the door" in page
    assert f"{evaluation.score:.0f}" in page


def test_invalid_post_keeps_every_value_and_puts_errors_next_to_fields(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    data = good_answers(hidden, **{"answers.greeting.verdict": None, "answers.order.wait": "10000000000000",
                                   "durations.order": "soon"})
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert count(Evaluation) == 0
    # the errors, each beside its field, and a summary on top that links to them
    assert re.search(r'id="q-greeting-verdict-error"[^>]*>Required: choose miserable, neutral or magical<', html)
    assert re.search(r'id="q-order-wait-error"[^>]*>Is too large<', html)
    assert re.search(r'id="m-order-duration-error"[^>]*>Must be a number of seconds', html)
    assert 'href="#q-greeting-verdict"' in html and "Please fix 3 problems" in html
    # everything typed is still there
    assert 'value="10000000000000"' in html
    assert 'value="yes" id="q-greeting-greeted" checked' in html
    assert ">straight away</textarea>" in html and ">Busy lunchtime</textarea>" in html
    assert ">Nobody held the door</textarea>" in html and 'value="soon"' in html
    assert f'name="client_uuid" value="{hidden["client_uuid"]}"' in html  # same form, same uuid
    # fixing the problems sends it
    fixed = good_answers(hidden)
    assert client.post(FORM.format(loc=location.id, jr=journey.id), data=fixed).status_code == 302
    assert count(Evaluation) == 1


def test_posting_the_same_form_twice_stores_one_evaluation(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    url = FORM.format(loc=location.id, jr=journey.id)
    first = client.post(url, data=good_answers(hidden))
    second = client.post(url, data=good_answers(hidden, notes="typed more after pressing send"))
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert count(Evaluation) == 1 and count(MomentResult) == 3
    assert db.session.scalars(select(Evaluation)).one().notes == "Busy lunchtime"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(out, format="PNG")
    return out.getvalue()


def test_a_photo_sent_with_the_form_is_stored_and_shown(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    data = good_answers(hidden)
    data["photo_files.farewell.receipt"] = (io.BytesIO(png_bytes()), "receipt.png")
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    photo = db.session.scalars(select(Photo)).one()
    answer = db.session.scalars(select(Answer).where(Answer.question_key == "receipt")).one()
    assert answer.value == photo.public_id and photo.evaluation_id == answer.evaluation_id
    page = client.get(response.location).get_data(as_text=True)
    assert f'src="/api/v1/photos/{photo.public_id}"' in page


def test_a_photo_survives_an_error_elsewhere_in_the_form(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    url = FORM.format(loc=location.id, jr=journey.id)
    data = good_answers(hidden, **{"answers.greeting.verdict": None})
    data["photo_files.farewell.receipt"] = (io.BytesIO(png_bytes()), "receipt.png")
    html = client.post(url, data=data, content_type="multipart/form-data").get_data(as_text=True)
    photo = db.session.scalars(select(Photo)).one()
    assert f'name="answers.farewell.receipt" value="{photo.public_id}"' in html
    again = good_answers(hidden, **{"answers.farewell.receipt": photo.public_id})
    assert client.post(url, data=again).status_code == 302
    assert db.session.scalars(select(Answer).where(Answer.question_key == "receipt")).one().value == photo.public_id


def test_a_file_that_is_not_a_photo_gets_an_error_and_nothing_is_stored(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    data = good_answers(hidden)
    data["photo_files.farewell.receipt"] = (io.BytesIO(b"<svg onload=alert(1)>"), "evil.svg")
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and count(Evaluation) == 0
    assert re.search(r'id="q-farewell-receipt-error"[^>]*>SVG drawings', response.get_data(as_text=True))


def submit_one(client, location, journey) -> Evaluation:
    hidden = open_form(client, location, journey)
    client.post(FORM.format(loc=location.id, jr=journey.id), data=good_answers(hidden))
    return db.session.scalars(select(Evaluation).order_by(Evaluation.id.desc())).first()


def test_result_page_is_for_its_evaluator_and_managers_only(client, auth, world, make):
    org, _, location, journey = world
    auth.login("shopper@example.com")
    evaluation = submit_one(client, location, journey)
    url = f"/evaluations/{evaluation.id}"
    assert client.get(url).status_code == 200
    make.user(org, "shopper", email="other@example.com")
    make.user(org, "staff", email="staff@example.com", location=location)
    make.user(org, "manager", email="boss@example.com")
    other_org = make.org()
    make.user(other_org, "admin", email="foreign@example.com")
    for email, status in (("other@example.com", 404), ("staff@example.com", 404), ("foreign@example.com", 404),
                          ("boss@example.com", 200)):
        auth.logout()
        auth.login(email)
        assert client.get(url).status_code == status, email
    assert client.get("/evaluations/999999").status_code == 404


def test_my_evaluations_lists_my_own_newest_first(client, auth, world, make):
    org, _, location, journey = world
    auth.login("shopper@example.com")
    first = submit_one(client, location, journey)
    second = submit_one(client, location, journey)
    html = client.get("/evaluations/mine").get_data(as_text=True)
    assert html.index(f"/evaluations/{second.id}") < html.index(f"/evaluations/{first.id}")
    assert "Sent and confirmed" in html and 'id="local-evaluations"' in html
    make.user(org, "shopper", email="other@example.com")
    auth.logout()
    auth.login("other@example.com")
    html = client.get("/evaluations/mine").get_data(as_text=True)
    assert f"/evaluations/{first.id}" not in html and "Nothing sent yet" in html


def test_service_worker_and_manifest_are_served_from_the_root(client):
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Service-Worker-Allowed"] == "/evaluations/"
    body = sw.get_data(as_text=True)
    assert body.startswith("self.AUDITAPP = {") and "/static/js/evaluate.js?v=" in body
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["start_url"] == "/evaluations/start" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512", "any"} <= sizes
    for icon in data["icons"]:
        with client.get(icon["src"]) as response:
            assert response.status_code == 200 and response.mimetype.startswith("image/")


def make_assignment(org, location, journey, shopper):
    from datetime import timedelta

    from auditapp.timeutil import local_today
    from auditapp.visits.models import Assignment

    today = local_today(org.timezone)

    assignment = Assignment(org_id=org.id, location_id=location.id, journey_id=journey.id, shopper_id=shopper.id,
                            window_start=today, window_end=today + timedelta(days=7))
    db.session.add(assignment)
    db.session.commit()
    return assignment


def test_a_planned_visit_is_started_listed_and_closed_by_the_form(client, auth, world, make):
    org, shopper, location, journey = world
    assignment = make_assignment(org, location, journey, shopper)
    auth.login("shopper@example.com")
    start = client.get("/evaluations/start").get_data(as_text=True)
    assert "Your planned visits" in start and f'action="/visits/{assignment.id}/start"' in start
    started = client.post(f"/visits/{assignment.id}/start")  # the visits package records the start, then the form
    assert started.status_code == 302 and f"assignment={assignment.id}" in started.location
    url = f"/evaluations/new?assignment={assignment.id}"
    html = client.get(url).get_data(as_text=True)
    assert f'name="assignment_id" value="{assignment.id}"' in html and "(planned visit)" in html
    response = client.post(url, data={**good_answers(form_fields(html)), "assignment_id": str(assignment.id)})
    assert response.status_code == 302
    evaluation = db.session.scalars(select(Evaluation)).one()
    assert evaluation.assignment_id == assignment.id
    db.session.refresh(assignment)
    assert assignment.status == "submitted"
    assert "Your planned visits" not in client.get("/evaluations/start").get_data(as_text=True)


def test_another_shoppers_planned_visit_is_404(client, auth, world, make):
    org, shopper, location, journey = world
    someone = make.user(org, "shopper", email="someone@example.com")
    assignment = make_assignment(org, location, journey, someone)
    auth.login("shopper@example.com")
    assert client.get(f"/evaluations/new?assignment={assignment.id}").status_code == 404
    wrong_place = make.location(org)
    mine = make_assignment(org, location, journey, shopper)
    assert client.get(f"/evaluations/new?assignment={mine.id}&location={wrong_place.id}&journey={journey.id}").status_code == 404


def test_a_manager_can_try_the_form_as_either_kind_of_visit(client, auth, world, make):
    org, _, location, journey = world
    make.user(org, "manager", email="boss@example.com")
    auth.login("boss@example.com")
    assert 'name="source"' in client.get("/evaluations/start").get_data(as_text=True)
    url = FORM.format(loc=location.id, jr=journey.id) + "&source=staff"
    html = client.get(url).get_data(as_text=True)
    assert "Staff self-assessment" in html
    assert client.post(url, data={**good_answers(form_fields(html)), "source": "staff"}).status_code == 302
    assert db.session.scalars(select(Evaluation)).one().source == "staff"


def test_a_form_whose_csrf_token_went_stale_comes_back_with_everything_typed(app, client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    app.config["WTF_CSRF_ENABLED"] = True  # as in production; the token below is from an older session
    data = {**good_answers(hidden), "csrf_token": "stale-token-from-before-logging-in-again"}
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and count(Evaluation) == 0
    assert "it was not sent" in html and ">Nobody held the door</textarea>" in html
    assert f'name="client_uuid" value="{hidden["client_uuid"]}"' in html
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(FORM.format(loc=location.id, jr=journey.id), data={**data, "csrf_token": fresh}).status_code == 302
    assert count(Evaluation) == 1


def test_result_page_shows_critical_fails_and_per_moment_scores(client, auth, world):
    _, _, location, journey = world
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    response = client.post(FORM.format(loc=location.id, jr=journey.id),
                           data=good_answers(hidden, **{"answers.order.clean": "no"}))
    evaluation = db.session.scalars(select(Evaluation)).one()
    order = next(r for r in evaluation.moment_results if r.moment_key == "order")
    assert order.critical_fail and order.score == 0
    html = client.get(response.location).get_data(as_text=True)
    assert "Critical fail" in html and "these moments score 0: Ordering" in html
    assert "(critical: missed)" in html
    assert re.search(r'class="result-score band-miserable">0<span class="vh"> out of 100</span> · Miserable', html)


def test_staff_see_a_link_to_their_coaching_card_after_a_self_assessment(client, auth, make):
    org = make.org()
    home = make.location(org)
    journey = make.journey(org)
    make.user(org, "staff", email="staff@example.com", location=home)
    auth.login("staff@example.com")
    hidden = open_form(client, home, journey)
    response = client.post(FORM.format(loc=home.id, jr=journey.id), data={**good_answers(hidden), "source": "staff"})
    evaluation = db.session.scalars(select(Evaluation)).one()
    assert evaluation.source == "staff"
    html = client.get(response.location).get_data(as_text=True)
    assert f'href="/visits/coaching/{evaluation.id}"' in html


# --- fix mode: a returned evaluation fixed in the same phone form ---------------------------------------------------


@pytest.fixture
def returned(client, auth, world, make):
    """The shopper sent an evaluation (with a photo and notes) through the form; a manager returned it."""
    from auditapp.visits.review import return_to_evaluator

    org, _, location, journey = world
    manager = make.user(org, "manager", email="boss@example.com")
    auth.login("shopper@example.com")
    hidden = open_form(client, location, journey)
    data = good_answers(hidden, **{"answers.farewell.verdict": "miserable"})
    data["photo_files.farewell.receipt"] = (io.BytesIO(png_bytes()), "receipt.png")
    assert client.post(FORM.format(loc=location.id, jr=journey.id), data=data,
                       content_type="multipart/form-data").status_code == 302
    evaluation = db.session.scalars(select(Evaluation)).one()
    return_to_evaluator(evaluation, manager, "Check the farewell <b>verdict</b>")
    db.session.commit()
    return evaluation


def fix_url(evaluation) -> str:
    return f"/evaluations/new?fix={evaluation.id}"


def test_fix_mode_is_prefilled_with_what_was_sent_and_keeps_the_client_uuid(client, returned):
    response = client.get(fix_url(returned))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    hidden = form_fields(html)
    assert hidden["client_uuid"] == returned.client_uuid  # the same evaluation, not a new one
    assert hidden["started_at"] == returned.started_at.isoformat() + "Z"  # the visit's own times, to the microsecond
    assert hidden["finished_at"] == returned.finished_at.isoformat() + "Z"
    assert f'data-fix="{returned.id}" data-keep-uuid data-revision="1"' in html  # evaluate.js keeps that uuid
    assert f'data-form-key="fix:{returned.id}"' in html
    assert f'action="{fix_url(returned)}"' in html  # without JavaScript the long form posts here
    assert "Check the farewell &lt;b&gt;verdict&lt;/b&gt;" in html  # the reviewer's comment, escaped
    assert html.index("Check the farewell") < html.index('id="evaluation"')  # on top of the form
    assert 'value="yes" id="q-greeting-greeted" checked' in html
    assert re.search(r'name="answers.farewell.verdict" value="miserable" id="[^"]+" checked', html)
    assert ">straight away</textarea>" in html and ">Busy lunchtime</textarea>" in html
    assert ">Nobody held the door</textarea>" in html and ">Said bye</textarea>" in html
    assert 'name="durations.order" value="95"' in html and 'name="answers.order.wait" value="90"' in html
    photo = db.session.scalars(select(Photo)).one()
    assert f'name="answers.farewell.receipt" value="{photo.public_id}"' in html
    assert "Send the fixed evaluation" in html and ">Change</a>" not in html
    # the older address draws the same form, posting to itself
    old = client.get(f"/visits/fix/{returned.id}").get_data(as_text=True)
    assert f'action="/visits/fix/{returned.id}"' in old and f'data-fix="{returned.id}" data-keep-uuid' in old


def test_only_the_evaluator_can_open_the_fix_and_others_get_404(client, auth, world, make, returned):
    org, _, location, journey = world
    url = fix_url(returned)
    make.user(org, "shopper", email="other@example.com")
    make.user(org, "staff", email="staff@example.com", location=location)
    make.user(make.org(), "admin", email="foreign@example.com")
    for email, status in (("other@example.com", 404), ("boss@example.com", 404), ("foreign@example.com", 404),
                          ("staff@example.com", 404), ("shopper@example.com", 200)):
        auth.logout()
        auth.login(email)
        assert client.get(url).status_code == status, email
        if status == 404:
            assert client.post(url, data={"notes": "x", "answers.farewell.verdict": "magical"}).status_code == 404
            assert client.post(f"/visits/fix/{returned.id}", data={"notes": "x"}).status_code == 404
    for bad in ("abc", "999999", "9" * 30, ""):
        assert client.get(f"/evaluations/new?fix={bad}").status_code == 404, bad
    auth.logout()
    assert client.get(url).status_code == 302  # to the login page
    db.session.refresh(returned)
    assert returned.status == "returned" and returned.revision == 1 and returned.notes == "Busy lunchtime"


def test_a_fix_updates_the_same_evaluation_in_place_and_the_history_records_the_changes(client, world, returned):
    from auditapp.auth.models import AuditLog
    from auditapp.results.queries import Filters, scorecard

    old_score = returned.score
    hidden = form_fields(client.get(fix_url(returned)).get_data(as_text=True))
    photo = db.session.scalars(select(Photo)).one()
    data = good_answers({**hidden, "client_uuid": "a-different-uuid-typed-in"}, notes="Busy lunchtime, fixed",
                        **{"answers.farewell.verdict": "magical", "answers.farewell.receipt": photo.public_id,
                           "finished_at": hidden["finished_at"]})
    response = client.post(fix_url(returned), data=data)
    assert response.status_code == 302 and response.location.endswith(f"/evaluations/{returned.id}")
    db.session.expire_all()
    assert count(Evaluation) == 1
    fixed = db.session.get(Evaluation, returned.id)
    assert fixed.client_uuid == returned.client_uuid and fixed.revision == 2 and fixed.status == "submitted"
    assert fixed.notes == "Busy lunchtime, fixed" and fixed.score > old_score
    assert {r.moment_key: r.verdict for r in fixed.moment_results}["farewell"] == "magical"
    assert {a.question_key: a.value for a in fixed.answers}["receipt"] == photo.public_id  # the photo stays
    assert [e.action for e in fixed.events] == ["submitted", "returned", "resubmitted"]
    changes = {c["field"]: (c["old"], c["new"]) for c in fixed.events[-1].changes}
    assert changes == {"farewell.verdict": ("miserable", "magical"), "notes": ("Busy lunchtime", "Busy lunchtime, fixed")}
    assert db.session.scalars(select(AuditLog).where(AuditLog.action == "evaluation.resubmitted")).one()
    assert scorecard(world[0], Filters(journey_id=fixed.journey_id)).score == pytest.approx(fixed.score)
    assert "Fixed and sent again" in client.get(response.location).get_data(as_text=True)


def test_after_the_fix_it_is_read_only_and_a_second_post_changes_nothing(client, auth, returned):
    from auditapp.visits.review import approve

    hidden = form_fields(client.get(fix_url(returned)).get_data(as_text=True))
    data = good_answers(hidden, **{"answers.farewell.verdict": "magical", "finished_at": hidden["finished_at"]})
    assert client.post(fix_url(returned), data=data).status_code == 302
    again = client.post(fix_url(returned), data={**data, "notes": "typed after pressing send"})  # a double tap
    assert again.status_code == 302 and again.location.endswith(f"/evaluations/{returned.id}")
    opened = client.get(fix_url(returned))
    assert opened.status_code == 302 and opened.location.endswith(f"/evaluations/{returned.id}")
    assert client.get(f"/visits/fix/{returned.id}").status_code == 302
    db.session.expire_all()
    fixed = db.session.get(Evaluation, returned.id)
    assert fixed.revision == 2 and fixed.notes == "Busy lunchtime" and len(fixed.events) == 3

    # Reviewed while a fix form was still open elsewhere: refused, and what was typed comes back, unsendable.
    approve(fixed, db.session.get(type(fixed.evaluator), fixed.evaluator_id), "fine")
    db.session.commit()
    late = client.post(fix_url(returned), data={**data, "notes": "Typed on the other phone"})
    html = late.get_data(as_text=True)
    assert late.status_code == 409 and "no longer waiting for a fix (approved)" in html
    assert ">Typed on the other phone</textarea>" in html and 'id="send"' not in html and "data-closed" in html
    db.session.expire_all()
    assert db.session.get(Evaluation, returned.id).status == "approved"


def test_fix_errors_keep_what_was_typed_and_an_unchanged_second_round_is_refused(client, auth, make, returned):
    from auditapp.auth.models import User
    from auditapp.visits.review import return_to_evaluator

    hidden = form_fields(client.get(fix_url(returned)).get_data(as_text=True))
    data = good_answers(hidden, notes="Typed this carefully", **{"answers.greeting.verdict": None,
                                                                 "finished_at": hidden["finished_at"]})
    response = client.post(fix_url(returned), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="q-greeting-verdict-error"[^>]*>Required: choose miserable, neutral or magical<', html)
    assert ">Typed this carefully</textarea>" in html and f'name="client_uuid" value="{returned.client_uuid}"' in html
    db.session.refresh(returned)
    assert returned.status == "returned" and returned.revision == 1

    # Fixed, returned a second time, then sent back exactly as it is: nothing to store, still returned.
    assert client.post(fix_url(returned), data=good_answers(hidden, **{"finished_at": hidden["finished_at"]})).status_code == 302
    manager = db.session.scalars(select(User).where(User.email == "boss@example.com")).one()
    return_to_evaluator(db.session.get(Evaluation, returned.id), manager, "Still the farewell")
    db.session.commit()
    html = client.get(fix_url(returned)).get_data(as_text=True)
    assert 'data-revision="2"' in html and "Still the farewell" in html
    assert 'name="base_revision" value="2"' in html  # the no-JS form names the round it was opened on
    same = {k: v for k, v in re.findall(r'name="([a-z_.]+)" value="([^"]*)"[^>]*checked', html)}
    unchanged = {**form_fields(html), **same, "answers.order.wait": "90", "durations.order": "95",
                 "answers.farewell.comment": "Said bye", "answer_notes.greeting.greeted": "straight away",
                 "moment_notes.farewell": "Nobody held the door", "notes": "Busy lunchtime"}
    refused = client.post(fix_url(returned), data=unchanged)
    assert refused.status_code == 422 and "Nothing was changed yet" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Evaluation, returned.id).revision == 2


def test_the_api_answers_a_fix_in_place_and_an_unchanged_replay_as_still_returned(client, auth, world, make, returned):
    """What the offline queue relies on: 200 with resubmitted true; the same body again is a harmless replay."""
    from auditapp.auth.models import User
    from auditapp.visits.review import return_to_evaluator

    _, shopper, location, journey = world
    token = make.token(shopper)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"client_uuid": returned.client_uuid, "journey_id": journey.id, "location_id": location.id,
            "source": "shopper", "started_at": returned.started_at.isoformat() + "Z",
            "finished_at": returned.finished_at.isoformat() + "Z", "notes": "Fixed from the queue",
            "answers": [{"moment": "greeting", "question": "greeted", "value": "yes", "note": ""},
                        {"moment": "greeting", "question": "verdict", "value": "magical", "note": ""},
                        {"moment": "order", "question": "verdict", "value": "neutral", "note": ""},
                        {"moment": "farewell", "question": "verdict", "value": "magical", "note": ""}]}
    first = client.post("/api/v1/evaluations", json=body, headers=headers)
    assert first.status_code == 200 and first.get_json()["resubmitted"] is True
    assert first.get_json()["id"] == returned.id and first.get_json()["revision"] == 2
    lost_answer = client.post("/api/v1/evaluations", json=body, headers=headers)  # the queue retries
    assert lost_answer.status_code == 200 and lost_answer.get_json()["resubmitted"] is False
    assert lost_answer.get_json()["status"] == "submitted" and lost_answer.get_json()["revision"] == 2
    manager = db.session.scalars(select(User).where(User.email == "boss@example.com")).one()
    return_to_evaluator(db.session.get(Evaluation, returned.id), manager, "Once more")
    db.session.commit()
    unchanged = client.post("/api/v1/evaluations", json=body, headers=headers).get_json()
    assert unchanged["status"] == "returned" and unchanged["resubmitted"] is False  # evaluate.js: "Nothing was changed"
    assert count(Evaluation) == 1


def test_my_evaluations_lists_returned_ones_on_top_with_the_comment(client, auth, world, make, returned):
    html = client.get("/evaluations/mine").get_data(as_text=True)
    assert "Returned to you" in html and "Check the farewell &lt;b&gt;verdict&lt;/b&gt;" in html
    assert f'href="{fix_url(returned)}">Fix and send again' in html
    assert html.index("Returned to you") < html.index('id="local-evaluations"')
    visits = client.get("/visits/mine").get_data(as_text=True)
    assert f'href="{fix_url(returned)}">Fix and send again' in visits
    detail = client.get(f"/evaluations/{returned.id}").get_data(as_text=True)
    assert f'href="{fix_url(returned)}">Fix and send again' in detail and 'data-status="returned"' in detail
    org = world[0]
    make.user(org, "shopper", email="other@example.com")
    auth.logout()
    auth.login("other@example.com")
    assert "Returned to you" not in client.get("/evaluations/mine").get_data(as_text=True)


def test_a_stale_fix_form_comes_back_with_everything_typed(app, client, returned):
    hidden = form_fields(client.get(fix_url(returned)).get_data(as_text=True))
    app.config["WTF_CSRF_ENABLED"] = True
    data = {**good_answers(hidden, notes="Typed before the session changed"), "csrf_token": "stale"}
    for url in (fix_url(returned), f"/visits/fix/{returned.id}"):
        response = client.post(url, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and "it was not sent" in html, url
        assert ">Typed before the session changed</textarea>" in html and f'data-fix="{returned.id}"' in html
        assert f'name="client_uuid" value="{returned.client_uuid}"' in html
    db.session.refresh(returned)
    assert returned.status == "returned" and returned.revision == 1
