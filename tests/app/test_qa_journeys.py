"""QA: the question form refuses a critical flag that could never fire (found building a journey as a manager)."""
from __future__ import annotations

import pytest

from auditapp.extensions import db
from auditapp.journeys.models import Journey


@pytest.fixture
def moment_url(make, auth):
    org = make.org()
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    journey = make.journey(org)
    moment = journey.current_version.moments[0]
    return journey, f"/journeys/{journey.id}/moments/{moment.id}/questions/new"


def _questions(journey) -> int:
    db.session.expire_all()
    return sum(len(m.questions) for m in db.session.get(Journey, journey.id).current_version.moments)


@pytest.mark.parametrize("qtype, target, message", [
    ("text", "", "Only a question with a score can be critical"),
    ("photo", "", "Only a question with a score can be critical"),
    ("number", "", "give it a target such as"),
])
def test_a_question_that_never_scores_cannot_be_critical(client, moment_url, qtype, target, message):
    journey, url = moment_url
    before = _questions(journey)
    page = client.post(url, data={"text": "Tell us more", "type": qtype, "target": target, "critical": "y",
                                  "weight": "1"}).get_data(as_text=True)
    assert message in page
    assert 'value="Tell us more"' in page  # nothing typed is lost
    assert _questions(journey) == before


@pytest.mark.parametrize("qtype, target", [("yes_no", ""), ("number", "<=30"), ("rating", "")])
def test_a_scored_question_can_be_critical(client, moment_url, qtype, target):
    journey, url = moment_url
    before = _questions(journey)
    response = client.post(url, data={"text": "Clean counter?", "type": qtype, "target": target, "critical": "y",
                                      "weight": "1"})
    assert response.status_code == 302
    assert _questions(journey) == before + 1
