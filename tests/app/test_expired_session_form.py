"""Without JavaScript, a form posted after the session has ended is not lost: kept, and sent once after the login.

CSRF is on in these tests (it is what a lost session trips first). The session "ends" the way it does on a phone:
the session cookie is gone (browser closed, cookie expired), or the login is no longer valid (password changed on
another device, so the session's version is stale).
"""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from auditapp.evaluations.models import Answer, Evaluation, ParkedForm, Photo
from auditapp.evaluations.parking import PARK_COOKIE
from auditapp.extensions import db
from auditapp.timeutil import utcnow

from .test_evaluation_form import FORM, form_fields, good_answers, png_bytes

ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="shopper@example.com")
    other = make.user(org, "shopper", email="other@example.com")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    return org, shopper, other, location, journey


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def login(client, email: str, next_url: str | None = None):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = {"email": email, "password": "correct horse battery", "csrf_token": token}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data)


def opened_form(client, world) -> tuple[str, dict]:
    """Log in as the shopper and open the form: its URL and hidden fields (csrf token, client_uuid, owner...)."""
    _, _, _, location, journey = world
    assert login(client, "shopper@example.com").status_code == 302
    url = FORM.format(loc=location.id, jr=journey.id)
    return url, form_fields(client.get(url).get_data(as_text=True))


def posted(hidden: dict, **changes) -> dict:
    data = good_answers(hidden, **changes)
    data["csrf_token"] = hidden["csrf_token"]
    data["form_owner"] = hidden["form_owner"]
    data["photo_files.farewell.receipt"] = (io.BytesIO(png_bytes()), "receipt.png")
    return data


def end_session(client) -> None:

    client.delete_cookie("session")
    client.delete_cookie("remember_token")



def test_answers_posted_after_the_session_ended_are_sent_once_after_the_login(client, world):
    url, hidden = opened_form(client, world)
    end_session(client)
    response = client.post(url, data=posted(hidden), headers=ORIGIN, content_type="multipart/form-data")
    assert response.status_code == 302 and "/login" in response.location and "resume" in response.location
    assert count(Evaluation) == 0 and count(ParkedForm) == 1
    assert client.get_cookie(PARK_COOKIE) is not None
    login_page = client.get(response.location).get_data(as_text=True)
    assert "Your answers are kept" in login_page

    after = login(client, "shopper@example.com", next_url="/evaluations/resume")
    assert after.location.endswith("/evaluations/resume")
    sent = client.get(after.location)
    assert sent.status_code == 302 and "/evaluations/" in sent.location
    evaluation = db.session.scalars(select(Evaluation)).one()
    assert evaluation.client_uuid == hidden["client_uuid"] and evaluation.notes == "Busy lunchtime"
    assert evaluation.evaluator.email == "shopper@example.com"
    note = db.session.scalar(select(Answer.note).where(Answer.question_key == "greeted"))
    assert note == "straight away"
    photo = db.session.scalars(select(Photo)).one()
    assert photo.evaluation_id == evaluation.id  # the photo came through the login too
    assert client.get_cookie(PARK_COOKIE) is None
    page = client.get(sent.location).get_data(as_text=True)
    assert "was sent" in page

    # Once: coming back to resume, or posting the same form again, stores nothing more.
    assert client.get("/evaluations/resume").status_code == 302
    hidden_now = form_fields(client.get(url).get_data(as_text=True))
    again = client.post(url, data={**posted(hidden), "csrf_token": hidden_now["csrf_token"]},
                        content_type="multipart/form-data")
    assert again.status_code == 302
    assert count(Evaluation) == 1 and count(Photo) == 1


def test_a_stale_login_with_a_live_session_cookie_is_kept_too(client, world):
    url, hidden = opened_form(client, world)
    _, shopper, *_ = world
    shopper.session_version += 1  # the password was changed on another phone: this session is logged out
    db.session.commit()
    response = client.post(url, data=posted(hidden), headers=ORIGIN, content_type="multipart/form-data")
    assert response.status_code == 302 and "resume" in response.location and count(ParkedForm) == 1
    client.get(login(client, "shopper@example.com", next_url="/evaluations/resume").location)
    assert count(Evaluation) == 1


def test_a_post_from_another_site_is_not_kept(client, world):
    url, hidden = opened_form(client, world)
    end_session(client)
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {}):
        response = client.post(url, data=posted(hidden), headers=headers, content_type="multipart/form-data")
        assert response.status_code == 400, headers
    assert count(ParkedForm) == 0 and client.get_cookie(PARK_COOKIE) is None


def test_another_account_cannot_send_them_but_the_owner_can_later(client, world):
    url, hidden = opened_form(client, world)
    end_session(client)
    client.post(url, data=posted(hidden), headers=ORIGIN, content_type="multipart/form-data")
    # Someone else logs in on this shared phone: the answers are not sent in their name, and stay kept.
    page = client.get(login(client, "other@example.com", next_url="/evaluations/resume").location, follow_redirects=True)
    assert "started by another account" in page.get_data(as_text=True)
    assert count(Evaluation) == 0 and client.get_cookie(PARK_COOKIE) is not None
    client.post("/logout", data={"csrf_token": form_fields(page.get_data(as_text=True)).get("csrf_token", "")})
    end_session(client)
    client.get(login(client, "shopper@example.com", next_url="/evaluations/resume").location)
    assert db.session.scalars(select(Evaluation)).one().evaluator.email == "shopper@example.com"


def test_a_kept_form_with_a_mistake_comes_back_with_everything_typed(client, world):
    url, hidden = opened_form(client, world)
    end_session(client)
    data = posted(hidden, **{"answers.greeting.greeted": None, "notes": "Typed while logged out"})
    client.post(url, data=data, headers=ORIGIN, content_type="multipart/form-data")
    response = client.get(login(client, "shopper@example.com", next_url="/evaluations/resume").location)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ">Typed while logged out</textarea>" in html
    assert f'name="client_uuid" value="{hidden["client_uuid"]}"' in html
    assert count(Evaluation) == 0
    # The corrected form goes through the usual post, once.
    fresh = form_fields(html)
    fixed = {**posted(hidden), "csrf_token": fresh["csrf_token"]}
    assert client.post(url, data=fixed, content_type="multipart/form-data").status_code == 302
    assert count(Evaluation) == 1


def test_a_fix_of_a_returned_evaluation_is_kept_over_the_login(client, world, make):
    from auditapp.visits.review import return_to_evaluator

    org, *_ = world
    url, hidden = opened_form(client, world)
    client.post(url, data=posted(hidden), content_type="multipart/form-data")
    evaluation = db.session.scalars(select(Evaluation)).one()
    return_to_evaluator(evaluation, make.user(org, "manager"), "Add the name")
    db.session.commit()
    fix = f"/evaluations/new?fix={evaluation.id}"
    hidden = form_fields(client.get(fix).get_data(as_text=True))
    end_session(client)
    data = {**good_answers(hidden, notes="It was Anna"), "csrf_token": hidden["csrf_token"],
            "form_owner": hidden["form_owner"], "base_revision": "1"}
    assert "resume" in client.post(fix, data=data, headers=ORIGIN).location
    client.get(login(client, "shopper@example.com", next_url="/evaluations/resume").location)
    db.session.refresh(evaluation)
    assert evaluation.status == "submitted" and evaluation.revision == 2 and evaluation.notes == "It was Anna"
    assert count(Evaluation) == 1


def test_kept_forms_expire_after_a_week(client, world):
    url, hidden = opened_form(client, world)
    end_session(client)
    client.post(url, data=posted(hidden), headers=ORIGIN, content_type="multipart/form-data")
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        page = client.get(login(client, "shopper@example.com", next_url="/evaluations/resume").location,
                          follow_redirects=True)
        assert page.status_code == 200
    assert count(Evaluation) == 0


def test_a_login_from_the_start_page_sends_them_too(client, world):
    url, hidden = opened_form(client, world)
    end_session(client)
    client.post(url, data=posted(hidden), headers=ORIGIN, content_type="multipart/form-data")
    after = login(client, "shopper@example.com")  # no ?next: the shopper went to the home page to log in
    assert after.location.endswith("/evaluations/resume")
    client.get(after.location)
    assert count(Evaluation) == 1
