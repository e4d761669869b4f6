"""A shopper whose phone is set to Swedish gets the journey's questions in Swedish, can switch the form to English
without losing what she answered, and the evaluation remembers which language it was filled in."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.journeys import translating
from tests.factories import PASSWORD

from .helpers import choose
from .test_evaluate_phone import RESULT_URL, answer_everything

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make, live_server):
    org = make.org()
    make.user(org, "shopper", email="shopper@example.com")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    translating.add_language(journey, "sv", "Svenska")
    translating.save_translations(journey, "sv", {"m-greeting-name": "Hälsning vid dörren",
                                                  "q-greeting-greeted-text": "Blev du hälsad inom 30 sekunder?"})
    db.session.commit()
    return {"base": live_server, "form": f"/evaluations/new?location={location.id}&journey={journey.id}"}


def log_in(page, base: str, next_path: str) -> None:
    """By the fields' names: the login page is in the phone's language."""
    page.goto(f"{base}/login?next={next_path.replace('&', '%26')}")
    page.locator("input[name=email]").fill("shopper@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def test_the_form_starts_in_the_phones_language_and_switches_without_losing_answers(phone, world):
    page = phone(locale="sv-SE").new_page()
    log_in(page, world["base"], world["form"])
    assert page.locator("html").get_attribute("lang") == "sv"  # the interface follows the phone too
    page.locator("#ui-language").select_option("en")  # she prefers the app itself in English
    page.locator(".language-picker button").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".evaluate").get_attribute("lang") == "sv"  # the questions still follow the phone
    assert page.locator("#m-greeting-h").inner_text() == "Hälsning vid dörren"
    assert page.locator("[data-q='answers.greeting.greeted'] legend").inner_text().startswith("Blev du hälsad inom 30 sekunder?")
    choose(page, "answers.greeting.greeted", "yes")
    choose(page, "answers.greeting.smile", "4")

    page.locator("#form-language").select_option("en")
    page.locator(".form-language button").click()
    page.wait_for_url(re.compile(r".*lang=en.*"))
    assert page.locator("#m-greeting-h").inner_text() == "Greeting at the door"
    assert page.locator("[data-q='answers.greeting.greeted'] input[value='yes']").is_checked()  # kept on the phone
    assert page.locator("[data-q='answers.greeting.smile'] input[value='4']").is_checked()

    answer_everything(page)
    page.locator("#evaluation button[type=submit]").last.click()
    page.wait_for_url(RESULT_URL)
    db.session.rollback()
    evaluation = db.session.scalars(select(Evaluation)).one()
    assert evaluation.language == "en"
    assert {(a.question_key, a.value) for a in evaluation.answers} >= {("greeted", "yes"), ("speed", "Quick")}
