"""On a phone: a shopper finds an evaluation the reviewer returned, fixes it and sends it again."""
from __future__ import annotations

import re

import pytest

from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.visits.review import return_to_evaluator

from .helpers import choose, eventually, login

pytestmark = pytest.mark.browser


@pytest.fixture
def returned(make, live_server):
    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com")
    shopper = make.user(org, "shopper", email="shopper@example.com")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    evaluation = make.evaluation(org, journey, location, shopper, notes="Rushed visit", answers={
        "greeting.verdict": "magical", "order.verdict": "neutral", "farewell.verdict": "miserable"})
    return_to_evaluator(evaluation, manager, "The farewell looks wrong: you wrote they waved goodbye")
    db.session.commit()
    return {"base": live_server, "id": evaluation.id, "score": evaluation.score}


def reload(evaluation_id: int) -> Evaluation:
    db.session.rollback()  # see the live server's commits
    return db.session.get(Evaluation, evaluation_id)


def test_shopper_fixes_a_returned_evaluation_on_a_phone(phone, returned):
    page = phone().new_page()
    login(page, returned["base"], "shopper@example.com", "/visits/mine")
    section = page.get_by_role("region", name="Returned to you")
    section.get_by_text("The farewell looks wrong").wait_for()
    link = section.get_by_role("link", name="Fix and send again")
    assert link.bounding_box()["height"] >= 48  # a thumb-sized target
    link.click()
    page.wait_for_url(re.compile(rf".*/visits/fix/{returned['id']}$"))
    page.get_by_text("The farewell looks wrong").first.wait_for()

    # What was sent is filled in: change only the farewell verdict and the notes.
    assert page.locator("[data-q='answers.farewell.verdict'] input[value='miserable']").is_checked()
    assert page.locator("[data-q='answers.greeting.verdict'] input[value='magical']").is_checked()
    choose(page, "answers.farewell.verdict", "magical")
    assert page.get_by_label("Overall notes").input_value() == "Rushed visit"
    page.get_by_label("Overall notes").fill("Rushed visit, but a warm goodbye")
    page.get_by_role("button", name="Send the fixed evaluation").click()

    fixed = eventually(lambda: (e := reload(returned["id"])) is not None and e.status == "submitted" and e)
    assert fixed.revision == 2
    assert {r.moment_key: r.verdict for r in fixed.moment_results}["farewell"] == "magical"
    assert fixed.score > returned["score"]
    assert [e.action for e in fixed.events] == ["submitted", "returned", "resubmitted"]
    assert fixed.notes == "Rushed visit, but a warm goodbye"
    page.goto(returned["base"] + "/visits/mine")
    assert page.get_by_role("region", name="Returned to you").count() == 0
