"""Journeys in several languages over HTTP: the builder's translations page (languages added, texts translated,
untranslated ones marked, bad input refused with everything kept), the shopper form in the shopper's language with
the same scores, and the language stored with the evaluation."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.journeys.models import JourneyVersion, Moment

from .test_evaluation_form import FORM, good_answers, open_form
from .test_submit_service import full_payload


@pytest.fixture
def world(make):
    org = make.org()
    manager = make.user(org, "manager", email="manager@example.com")
    shopper = make.user(org, "shopper", email="shopper@example.com")
    return org, manager, shopper, make.location(org, name="Harbour"), make.journey(org), make.token(shopper)


def add_swedish(client, journey, code="sv", name="Svenska"):
    return client.post(f"/journeys/{journey.id}/languages", data={"action": "add", "code": code, "name": name})


SWEDISH_TEXTS = {"m-greeting-name": "Hälsning vid dörren", "q-greeting-greeted-text": "Blev du hälsad inom 30 sekunder?",
                 "q-order-speed-opt-0": "Snabbt", "q-order-speed-opt-1": "Långsamt"}


def test_a_manager_adds_a_language_and_translates_texts(client, auth, world):
    _, _, _, _, journey, _ = world
    auth.login("manager@example.com")
    response = add_swedish(client, journey)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/journeys/{journey.id}/translations?lang=sv")
    page = client.get(f"/journeys/{journey.id}/translations?lang=sv").get_data(as_text=True)
    total = page.count('name="m-') + page.count('name="q-')
    assert total > 10 and page.count("Not translated") == total  # every text marked until it is translated
    assert "Greeting at the door" in page and f"0 of {total} texts translated" in page

    response = client.post(f"/journeys/{journey.id}/translations?lang=sv", data=SWEDISH_TEXTS)
    assert response.status_code == 302
    version = db.session.get(JourneyVersion, journey.current_version_id)
    assert version.languages == [{"code": "sv", "name": "Svenska"}]
    greeting = next(m for m in version.moments if m.key == "greeting")
    assert greeting.translations == {"sv": {"name": "Hälsning vid dörren"}}
    speed = next(q for m in version.moments for q in m.questions if q.key == "speed")
    assert speed.translations == {"sv": {"options": ["Snabbt", "Långsamt", ""]}}
    page = client.get(f"/journeys/{journey.id}/translations?lang=sv").get_data(as_text=True)
    assert f"4 of {total} texts translated" in page and page.count("Not translated") == total - 4
    assert 'value="Hälsning vid dörren"' in page


def test_bad_languages_are_refused_next_to_their_field(client, auth, world):
    _, _, _, _, journey, _ = world
    auth.login("manager@example.com")
    response = add_swedish(client, journey, code="swedish!", name="Svenska")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="lang-code-error">&#39;swedish!&#39; is not a language code', page)
    assert 'value="Svenska"' in page  # what was typed stays
    add_swedish(client, journey)
    assert "already has Svenska (sv)" in add_swedish(client, journey, code="SV", name="Swedish").get_data(as_text=True)
    assert "Give the language" in add_swedish(client, journey, code="de", name=" ").get_data(as_text=True)
    response = client.post(f"/journeys/{journey.id}/languages", data={"action": "default", "default_code": "sv",
                                                                      "default_name": "Svenska"})
    assert response.status_code == 422 and "is one of the translations" in response.get_data(as_text=True)
    version = db.session.get(JourneyVersion, journey.current_version_id)
    db.session.refresh(version)
    assert version.languages == [{"code": "sv", "name": "Svenska"}] and version.default_language == "en"


def test_a_refused_save_keeps_every_text_and_stores_none(client, auth, world):
    _, _, _, _, journey, _ = world
    auth.login("manager@example.com")
    add_swedish(client, journey)
    data = {**SWEDISH_TEXTS, "m-order-name": "x" * 201}
    response = client.post(f"/journeys/{journey.id}/translations?lang=sv", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="m-order-name-error">Name is too long (201 characters; at most 200)' in page
    assert 'value="Hälsning vid dörren"' in page and 'value="Snabbt"' in page
    assert all(m.translations == {} for m in db.session.scalars(select(Moment)))


def test_removing_a_language_removes_its_translations(client, auth, world):
    _, _, _, _, journey, _ = world
    auth.login("manager@example.com")
    add_swedish(client, journey)
    client.post(f"/journeys/{journey.id}/translations?lang=sv", data=SWEDISH_TEXTS)
    response = client.post(f"/journeys/{journey.id}/languages", data={"action": "remove", "remove": "sv"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(JourneyVersion, journey.current_version_id).languages == []
    assert all(m.translations == {} for m in db.session.scalars(select(Moment)))


def test_another_organisations_journey_is_not_found(client, auth, world, make):
    _, _, _, _, journey, _ = world
    other = make.org()
    make.user(other, "manager", email="other@example.com")
    auth.login("other@example.com")
    assert client.get(f"/journeys/{journey.id}/translations").status_code == 404
    assert add_swedish(client, journey).status_code == 404
    auth.logout()
    auth.login("shopper@example.com")
    assert client.get(f"/journeys/{journey.id}/translations").status_code in (302, 403)


@pytest.fixture
def swedish_journey(client, auth, world):
    _, _, _, _, journey, _ = world
    auth.login("manager@example.com")
    add_swedish(client, journey)
    assert client.post(f"/journeys/{journey.id}/translations?lang=sv", data=SWEDISH_TEXTS).status_code == 302
    auth.logout()
    return journey


def test_the_shopper_form_follows_the_browser_and_the_picker(client, auth, world, swedish_journey):
    location = world[3]
    auth.login("shopper@example.com")
    url = FORM.format(loc=location.id, jr=swedish_journey.id)
    page = client.get(url, headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<div class="evaluate" lang="sv">' in page
    assert "Hälsning vid dörren" in page and "Blev du hälsad inom 30 sekunder?" in page
    assert "Ordering" in page  # not translated: the journey's own text
    assert re.search(r'value="Slow"[^>]*>\s*<span>Långsamt</span>', page)  # the stored value stays the default label
    assert '<option value="sv" lang="sv" selected>Svenska</option>' in page
    english = client.get(url + "&lang=en", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert "Greeting at the door" in english and "Hälsning" not in english
    assert client.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True).count("Hälsning") == 0


def test_a_form_sent_in_swedish_scores_like_one_in_english(client, auth, world, swedish_journey):
    location = world[3]
    auth.login("shopper@example.com")
    scores = {}
    for language in ("sv", "en"):
        hidden = open_form(client, location, swedish_journey)
        data = good_answers(hidden, language=language)
        response = client.post(FORM.format(loc=location.id, jr=swedish_journey.id), data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        evaluation = db.session.scalars(select(Evaluation).where(Evaluation.client_uuid == hidden["client_uuid"])).one()
        scores[language] = (evaluation.language, evaluation.score)
    assert scores["sv"][0] == "sv" and scores["en"][0] == "en"
    assert scores["sv"][1] == scores["en"][1] is not None


def test_the_api_checks_the_language_and_a_replay_ignores_it(client, world, swedish_journey):
    _, _, _, location, journey, token = world
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/evaluations", json=full_payload(journey, location, language="fr"), headers=headers)
    assert response.status_code == 422
    assert {"field": "language", "message": "Must be one of this journey's languages: en, sv"} in response.get_json()["errors"]
    payload = full_payload(journey, location, language="sv")
    created = client.post("/api/v1/evaluations", json=payload, headers=headers)
    assert created.status_code == 201 and created.get_json()["language"] == "sv"
    again = client.post("/api/v1/evaluations", json={**payload, "language": "en"}, headers=headers)
    assert again.status_code == 200  # the same answers shown in another language: the same evaluation
    assert db.session.scalars(select(Evaluation.language)).all() == ["sv"]


def test_the_downloaded_workbook_carries_the_translations(client, auth, world, swedish_journey):
    auth.login("manager@example.com")
    response = client.get(f"/journeys/{swedish_journey.id}/workbook.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    header = [cell.value for cell in book["moments"][1]]
    column = header.index("name::Svenska (sv)")
    names = [row[column].value for row in book["moments"].iter_rows(min_row=2)]
    assert names == ["Hälsning vid dörren", None, None]
