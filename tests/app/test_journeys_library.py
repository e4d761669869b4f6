"""The starter library page, copying a library journey, and the demo journeys step."""
from __future__ import annotations

import pytest

from auditapp.auth.models import AuditLog
from auditapp.journeys.library import LIBRARY, LIBRARY_SLUGS
from auditapp.journeys.models import Journey
from auditapp.journeys.services import version_to_spec


@pytest.fixture
def manager(make, auth):
    org = make.org()
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


def test_library_lists_every_journey_with_moments_and_priorities(client, manager):
    page = client.get("/journeys/library").get_data(as_text=True)
    for slug in LIBRARY_SLUGS:
        spec = LIBRARY[slug]
        assert spec.name in page and f"/journeys/library/{slug}/copy" in page
        assert f"{len(spec.moments)} moments" in page
        for moment in spec.moments:
            if moment.priority:
                assert moment.name in page
    assert page.count("Copy into my organisation") == len(LIBRARY_SLUGS)


def test_copy_into_my_organisation(client, manager):
    response = client.post("/journeys/library/dentist-visit/copy")
    journey = Journey.query.one()
    assert response.status_code == 302 and response.location.endswith(f"/journeys/{journey.id}")
    assert journey.org_id == manager.id and journey.library_slug == "dentist-visit"
    assert journey.current_version.status == "published"
    assert version_to_spec(journey, journey.current_version) == LIBRARY["dentist-visit"]
    assert AuditLog.query.filter_by(action="journey.import", object_id=journey.id).count() == 1
    assert "Already copied" in client.get("/journeys/library").get_data(as_text=True)
    # the copy is the manager's own to edit
    moment = journey.current_version.moments[0]
    client.post(f"/journeys/{journey.id}/moments/{moment.id}/edit", data={
        "name": "Phoning to book", "key": moment.key, "channel": "phone", "kind": "basic", "weight": "1"})
    assert Journey.query.one().current_version.moments[0].name == "Phoning to book"
    assert LIBRARY["dentist-visit"].moments[0].name != "Phoning to book"


def test_copy_of_an_unknown_library_journey_is_404(client, manager):
    assert client.post("/journeys/library/no-such-journey/copy").status_code == 404
    assert Journey.query.count() == 0


def test_demo_step_adds_the_article_journeys(make):
    from auditapp.demo import DEMO_STEPS, DemoResult
    from auditapp.journeys.demo_data import add_demo_journeys

    assert DEMO_STEPS[0] is add_demo_journeys  # later steps build on result.journeys
    result = DemoResult(org=make.org())
    add_demo_journeys(result, 7)
    assert {"dentist-visit", "airline-trip", "cafe-order"} <= set(result.journeys)
    dentist = result.journeys["dentist-visit"]
    assert dentist.org_id == result.org.id and dentist.current_version.status == "published"
    assert len(dentist.current_version.moments) == len(LIBRARY["dentist-visit"].moments)
