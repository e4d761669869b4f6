"""Who may use the journey builder: managers and admins of the journey's own organisation only."""
from __future__ import annotations

import pytest

from auditapp.extensions import db
from auditapp.journeys.models import Journey, JourneyVersion, Moment, Question
from auditapp.journeys.services import create_blank_journey


def _urls(journey, moment, question):
    j, m, q = journey.id, moment.id, question.id
    return [
        ("get", "/journeys/"), ("get", "/journeys/new"), ("post", "/journeys/new"), ("get", "/journeys/library"),
        ("post", "/journeys/library/cafe-order/copy"), ("get", "/journeys/import"), ("post", "/journeys/import"),
        ("get", "/journeys/template.xlsx"),
        ("get", f"/journeys/{j}"), ("get", f"/journeys/{j}/edit"), ("post", f"/journeys/{j}/edit"),
        ("post", f"/journeys/{j}/archive"), ("post", f"/journeys/{j}/restore"), ("post", f"/journeys/{j}/publish"),
        ("post", f"/journeys/{j}/discard"), ("get", f"/journeys/{j}/workbook.xlsx"), ("get", f"/journeys/{j}/import"),
        ("post", f"/journeys/{j}/import"), ("get", f"/journeys/{j}/moments/new"), ("post", f"/journeys/{j}/moments/new"),
        ("get", f"/journeys/{j}/moments/{m}"), ("get", f"/journeys/{j}/moments/{m}/edit"),
        ("post", f"/journeys/{j}/moments/{m}/edit"), ("post", f"/journeys/{j}/moments/{m}/move"),
        ("get", f"/journeys/{j}/moments/{m}/delete"), ("post", f"/journeys/{j}/moments/{m}/delete"),
        ("get", f"/journeys/{j}/moments/{m}/questions/new"), ("post", f"/journeys/{j}/moments/{m}/questions/new"),
        ("get", f"/journeys/{j}/questions/{q}/edit"), ("post", f"/journeys/{j}/questions/{q}/edit"),
        ("post", f"/journeys/{j}/questions/{q}/move"), ("get", f"/journeys/{j}/questions/{q}/delete"),
        ("post", f"/journeys/{j}/questions/{q}/delete"),
    ]


def _state():
    db.session.expire_all()
    return (Journey.query.count(), JourneyVersion.query.count(), Moment.query.count(), Question.query.count(),
            [(j.name, j.archived) for j in Journey.query.order_by(Journey.id)])


@pytest.mark.parametrize("role", ["shopper", "staff"])
def test_shoppers_and_staff_get_403_everywhere_and_change_nothing(client, auth, make, role):
    org = make.org()
    journey = make.journey(org)
    moment = journey.current_version.moments[0]
    question = moment.questions[0]
    make.user(org, role, email="u@example.com")
    auth.login("u@example.com")
    before = _state()
    for method, url in _urls(journey, moment, question):
        assert getattr(client, method)(url).status_code == 403, (method, url)
    assert _state() == before


def test_builder_needs_login(client, make):
    journey = make.journey(make.org())
    response = client.get(f"/journeys/{journey.id}")
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_may_build(client, auth, make, role):
    org = make.org()
    journey = make.journey(org)
    make.user(org, role, email="u@example.com")
    auth.login("u@example.com")
    assert client.get(f"/journeys/{journey.id}").status_code == 200
    assert client.get("/journeys/").status_code == 200


def test_another_organisations_journey_moment_and_question_are_404(client, auth, make):
    mine, theirs = make.org(), make.org()
    my_journey = make.journey(mine, name="Mine")
    their_journey = make.journey(theirs, name="Theirs")
    make.user(mine, "manager", email="m@example.com")
    auth.login("m@example.com")
    their_moment = their_journey.current_version.moments[0]
    their_question = their_moment.questions[0]
    before = _state()
    # the whole URL in their organisation
    for method, url in _urls(their_journey, their_moment, their_question):
        if f"/journeys/{their_journey.id}" in url:
            assert getattr(client, method)(url).status_code == 404, (method, url)
    # my journey id with their moment or question: the chain is checked too
    for method, url in _urls(my_journey, their_moment, their_question):
        if ("/moments/" in url and "/moments/new" not in url) or ("/questions/" in url and "/questions/new" not in url):
            assert getattr(client, method)(url).status_code == 404, (method, url)
    assert _state() == before
    assert b"Theirs" not in client.get("/journeys/").data


def test_a_moment_of_another_journey_in_the_same_organisation_is_404(client, auth, make):
    org = make.org()
    first, second = make.journey(org, name="First"), make.journey(org, name="Second")
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    other = second.current_version.moments[0]
    assert client.get(f"/journeys/{first.id}/moments/{other.id}").status_code == 404
    assert client.post(f"/journeys/{first.id}/moments/{other.id}/delete").status_code == 404
    assert Moment.query.filter_by(id=other.id).count() == 1


def test_unpublished_journeys_are_not_offered_for_evaluation(make):
    from auditapp.journeys.services import published_journeys

    org = make.org()
    make.journey(org, name="Live")
    create_blank_journey(org.id, "Still a draft")
    db.session.commit()
    assert [j.name for j in published_journeys(org.id)] == ["Live"]
