"""Two managers starting a draft of the same journey at once: one gets it, the other a clear 409 with the way to
the draft; never a 500, never two drafts.

The first edit of an answered journey copies the published version into a new draft. Both requests can pass the
"is there a draft?" check before either inserts. The database keeps one (unique (journey, number) and the partial
unique index on drafts); auditapp.journeys.versioning turns the loser's failed insert into DraftConflict.
- On any database: the other manager's draft is committed from a separate session between the check and the
  insert (what the race looks like from the loser's side), for every builder action that can start a draft.
- On PostgreSQL: two real requests on a live threaded server, each with its own connection, held at a barrier
  after the check so both are past it before either inserts.
"""
from __future__ import annotations

import http.client
import io
import json
import re
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditapp.auth.models import AuditLog
from auditapp.extensions import db
from auditapp.journeys import pending, versioning
from auditapp.journeys.models import Journey, JourneyVersion, Moment
from auditapp.journeys.workbook import write_journey_workbook
from tests.factories import PASSWORD, sample_spec

CONFLICT = "started a draft of this journey a moment ago; your change was not saved."


@pytest.fixture
def world(make, auth):
    org = make.org(slug="acme")
    mia = make.user(org, "manager", email="mia@example.com", name="Mia Manager")
    colin = make.user(org, "manager", email="colin@example.com", name="Colin Colleague")
    journey = make.journey(org)
    make.evaluation(org, journey, make.location(org), make.user(org, "shopper"))  # so edits start a draft
    auth.login("mia@example.com")
    return type("World", (), dict(org=org, mia=mia, colin=colin, journey=journey))


def drafts(journey_id: int) -> list[JourneyVersion]:
    db.session.expire_all()
    return list(db.session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id,
                                                                JourneyVersion.status == "draft")))


def colin_starts_a_draft(monkeypatch, world, *, same_number: bool, status: str = "draft") -> None:
    """When Mia's request is about to insert its draft, Colin's draft is committed from another session.

    same_number: Colin's draft takes the number Mia's request just computed (the (journey, number) constraint
    stops her); otherwise it is committed before she computes hers, so only the one-draft index stops her."""
    original = versioning._next_number
    done = []

    def colin_first(journey):
        if done:
            return original(journey)
        done.append(True)
        number = original(journey) if same_number else None
        with Session(db.engine) as other:  # its own connection and transaction, like another request
            highest = other.scalar(select(func.max(JourneyVersion.number))
                                   .where(JourneyVersion.journey_id == journey.id))
            other.add(JourneyVersion(journey_id=journey.id, number=number or highest + 1, status=status,
                                     created_by_id=world.colin.id))
            other.commit()
        return number if same_number else original(journey)

    monkeypatch.setattr(versioning, "_next_number", colin_first)


def _v1(world):
    version = world.journey.current_version
    greeting = next(m for m in version.moments if m.key == "greeting")
    greeted = next(q for q in greeting.questions if q.key == "greeted")
    return version, greeting, greeted


def _upload(name: str = "Café order"):
    return {"data": {"workbook": (io.BytesIO(write_journey_workbook(sample_spec(name))), "cafe.xlsx")},
            "content_type": "multipart/form-data"}


MOMENT = {"name": "Typed by Mia", "key": "greeting", "channel": "phone", "kind": "basic", "weight": "1"}
QUESTION = {"text": "Typed by Mia?", "key": "mia_q", "type": "yes_no", "weight": "1", "options": "", "target": ""}

# action: (method and path from the v1 ids, form data, text typed that must be kept or None for button actions)
FORM_ACTIONS = {
    "edit moment": (lambda j, m, q: f"/journeys/{j}/moments/{m}/edit", MOMENT, "Typed by Mia"),
    "add moment": (lambda j, m, q: f"/journeys/{j}/moments/new", {**MOMENT, "key": "mias"}, "Typed by Mia"),
    "add question": (lambda j, m, q: f"/journeys/{j}/moments/{m}/questions/new", QUESTION, "Typed by Mia?"),
    "edit question": (lambda j, m, q: f"/journeys/{j}/questions/{q}/edit", {**QUESTION, "key": "greeted"},
                      "Typed by Mia?"),
}
BUTTON_ACTIONS = {
    "delete moment": (lambda j, m, q: f"/journeys/{j}/moments/{m}/delete", {}),
    "move moment": (lambda j, m, q: f"/journeys/{j}/moments/{m}/move", {"direction": "down"}),
    "delete question": (lambda j, m, q: f"/journeys/{j}/questions/{q}/delete", {}),
    "move question": (lambda j, m, q: f"/journeys/{j}/questions/{q}/move", {"direction": "down"}),
}


def assert_nothing_of_mias(world) -> None:
    """One draft, Colin's, empty as he committed it; none of Mia's change, in it or in the audit log."""
    (draft,) = drafts(world.journey.id)
    assert draft.created_by_id == world.colin.id and draft.moments == []
    version = db.session.get(Journey, world.journey.id).current_version
    assert version.number == 1 and "Typed by Mia" not in {m.name for m in version.moments}
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.user_id == world.mia.id,
                                                                            AuditLog.action != "user.login")) == 0


@pytest.mark.parametrize("same_number", [True, False], ids=["same number", "next number"])
@pytest.mark.parametrize("action", list(FORM_ACTIONS))
def test_form_that_loses_the_race_is_409_with_the_link_and_keeps_the_typing(client, world, monkeypatch, action,
                                                                            same_number):
    path, data, typed = FORM_ACTIONS[action]
    _, greeting, greeted = _v1(world)
    colin_starts_a_draft(monkeypatch, world, same_number=same_number)
    response = client.post(path(world.journey.id, greeting.id, greeted.id), data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409, page[:500]
    assert f"Colin Colleague {CONFLICT}" in page
    assert f'<a href="/journeys/{world.journey.id}">Open the draft</a> to continue' in page
    assert f'value="{typed}"' in page  # what Mia typed is still in the form
    assert_nothing_of_mias(world)


@pytest.mark.parametrize("action", list(BUTTON_ACTIONS))
def test_button_that_loses_the_race_is_409_with_the_link(client, world, monkeypatch, action):
    path, data = BUTTON_ACTIONS[action]
    _, greeting, greeted = _v1(world)
    colin_starts_a_draft(monkeypatch, world, same_number=True)
    response = client.post(path(world.journey.id, greeting.id, greeted.id), data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409, page[:500]
    assert f"Colin Colleague {CONFLICT}" in page and "Your change was not saved" in page
    assert f'href="/journeys/{world.journey.id}">Open draft version 2</a>' in page
    assert_nothing_of_mias(world)


@pytest.mark.parametrize("action", ["move moment", "move question"])
def test_move_by_script_that_loses_the_race_gets_json_and_the_draft_page_says_why(client, world, monkeypatch, action):
    path, data = BUTTON_ACTIONS[action]
    _, greeting, greeted = _v1(world)
    colin_starts_a_draft(monkeypatch, world, same_number=False)
    response = client.post(path(world.journey.id, greeting.id, greeted.id), data=data,
                           headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.json["ok"] is False and response.json["url"] == f"/journeys/{world.journey.id}"
    assert CONFLICT in response.json["message"]
    assert_nothing_of_mias(world)
    page = client.get(response.json["url"]).get_data(as_text=True)  # where journeys.js goes
    assert f"Colin Colleague {CONFLICT}" in page and "draft version 2" in page


def test_workbook_upload_as_draft_that_loses_the_race_is_409(client, world, monkeypatch):
    colin_starts_a_draft(monkeypatch, world, same_number=True)
    response = client.post(f"/journeys/{world.journey.id}/import", **_upload())
    assert response.status_code == 409 and f"Colin Colleague {CONFLICT}" in response.get_data(as_text=True)
    assert_nothing_of_mias(world)


def test_import_as_new_version_that_loses_the_race_keeps_the_choice_page(client, world, monkeypatch):
    page = client.post("/journeys/import", **_upload()).get_data(as_text=True)
    token = re.search(r'name="upload" type="hidden" value="([^"]+)"', page).group(1)
    colin_starts_a_draft(monkeypatch, world, same_number=True)
    response = client.post("/journeys/import/choose", data={"upload": token, "choice": "new_version"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and f"Colin Colleague {CONFLICT}" in page
    assert token in page  # the workbook is still on the page: a copy can still be chosen
    assert_nothing_of_mias(world)
    assert Journey.query.count() == 1


def test_losing_to_a_version_published_at_that_moment_is_409_too(client, world, monkeypatch):
    """Two imports as a new version at once: the winner's version is published in its own transaction, so the
    loser finds no draft, only the version that took its number."""
    page = client.post("/journeys/import", **_upload()).get_data(as_text=True)
    token = re.search(r'name="upload" type="hidden" value="([^"]+)"', page).group(1)
    colin_starts_a_draft(monkeypatch, world, same_number=True, status="published")
    response = client.post("/journeys/import/choose", data={"upload": token, "choice": "new_version"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Colin Colleague published version 2 of this journey a moment ago; your change was not saved." in page
    assert f'<a href="/journeys/{world.journey.id}">Open the journey</a> to continue' in page
    db.session.expire_all()
    assert [v.number for v in db.session.get(Journey, world.journey.id).versions] == [1, 2]
    assert AuditLog.query.filter_by(action="version.import").count() == 0


def test_saving_again_after_the_conflict_goes_into_the_winners_draft(client, world, monkeypatch):
    _, greeting, _ = _v1(world)
    colin_starts_a_draft(monkeypatch, world, same_number=True)
    url = f"/journeys/{world.journey.id}/moments/{greeting.id}/edit"
    assert client.post(url, data=MOMENT).status_code == 409
    (draft,) = drafts(world.journey.id)
    # Colin's (bare) draft now gets a copy of the moments in the test, as the builder would have made
    draft.moments = [versioning._copy_moment(m) for m in world.journey.current_version.moments]
    db.session.commit()
    assert client.post(url, data=MOMENT).status_code == 302
    (draft,) = drafts(world.journey.id)
    assert draft.created_by_id == world.colin.id
    assert next(m for m in draft.moments if m.key == "greeting").name == "Typed by Mia"


def test_the_database_allows_one_draft_per_journey(world):
    db.session.add(JourneyVersion(journey_id=world.journey.id, number=2, status="draft"))
    db.session.commit()
    db.session.add(JourneyVersion(journey_id=world.journey.id, number=3, status="draft"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    # published and retired versions are not limited
    db.session.add_all([JourneyVersion(journey_id=world.journey.id, number=4, status="retired"),
                        JourneyVersion(journey_id=world.journey.id, number=5, status="retired")])
    db.session.commit()
    assert len(drafts(world.journey.id)) == 1


# --------------------------------------------------------------------------------------------------- real race


class Browser:
    """One manager's own HTTP connection and session cookie against the live server (no redirects followed)."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            connection.request("POST", path, body=urlencode(data), headers=sent)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers), response.read().decode()
        finally:
            connection.close()

    def login(self, email: str) -> None:
        status, headers, _ = self.post("/login", {"email": email, "password": PASSWORD})
        assert status == 302 and "/login" not in headers.get("Location", ""), status


def race(browsers_and_requests) -> list[tuple[int, dict, str]]:
    results: list = [None] * len(browsers_and_requests)

    def send(index, browser, path, data, headers):
        results[index] = browser.post(path, data, headers)

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(browsers_and_requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert all(r is not None for r in results), results
    return results


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.mark.parametrize("kind", ["form", "script", "import"])
def test_two_managers_at_once_on_postgresql_one_draft_one_409(postgres_only, app, live_server, world, monkeypatch,
                                                              kind):
    _, greeting, _ = _v1(world)
    journey_id = world.journey.id
    mia, colin = Browser(live_server), Browser(live_server)
    mia.login("mia@example.com")
    colin.login("colin@example.com")

    # Both requests wait here, past the "is there a draft?" check and just before their insert.
    barrier = threading.Barrier(2)
    original = versioning._next_number

    def held(journey):
        number = original(journey)
        barrier.wait(timeout=30)
        return number

    monkeypatch.setattr(versioning, "_next_number", held)
    if kind == "form":
        path = f"/journeys/{journey_id}/moments/{greeting.id}/edit"
        requests = [(mia, path, {**MOMENT, "name": "Typed by Mia"}, {}),
                    (colin, path, {**MOMENT, "name": "Typed by Colin"}, {})]
    elif kind == "script":
        path = f"/journeys/{journey_id}/moments/{greeting.id}/move"
        requests = [(b, path, {"direction": "down"}, {"Accept": "application/json"}) for b in (mia, colin)]
    else:  # both import a workbook as the next version (each has been through the upload step)
        def token(user):
            return pending.seal(sample_spec(), "cafe.xlsx", user_id=user.id, org_id=world.org.id,
                                published_numbers={journey_id: 1}, secret_key=app.secret_key)

        requests = [(b, "/journeys/import/choose", {"upload": token(u), "choice": "new_version"}, {})
                    for b, u in ((mia, world.mia), (colin, world.colin))]
    results = race(requests)

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200 if kind == "script" else 302, 409], [(s, body[:300]) for s, _, body in results]
    winner = 0 if results[0][0] != 409 else 1
    loser = 1 - winner
    winner_name = ("Mia Manager", "Colin Colleague")[winner]
    status, _, body = results[loser]
    if kind == "import":
        assert f"{winner_name} published version 2 of this journey a moment ago; your change was not saved." in body
        db.session.expire_all()
        journey = db.session.get(Journey, journey_id)
        assert [v.number for v in journey.versions] == [1, 2] and journey.current_version.number == 2
        assert journey.current_version.created_by_id == (world.mia.id, world.colin.id)[winner]
        assert drafts(journey_id) == [] and AuditLog.query.filter_by(action="version.import").count() == 1
        return
    if kind == "form":
        assert f"{winner_name} {CONFLICT}" in body
        assert f'<a href="/journeys/{journey_id}">Open the draft</a>' in body
        assert f'value="Typed by {("Mia", "Colin")[loser]}"' in body  # the loser's typing is kept
    else:
        data = json.loads(body)
        assert data["ok"] is False and data["url"] == f"/journeys/{journey_id}"
        assert data["message"].startswith(f"{winner_name} {CONFLICT}")

    (draft,) = drafts(journey_id)
    assert draft.created_by_id == (world.mia.id, world.colin.id)[winner] and draft.number == 2
    moments = list(db.session.scalars(select(Moment).where(Moment.version_id == draft.id).order_by(Moment.position)))
    if kind == "form":
        assert next(m for m in moments if m.key == "greeting").name == f"Typed by {('Mia', 'Colin')[winner]}"
    else:
        assert [m.key for m in moments] == ["order", "greeting", "farewell"]  # moved once, not twice
    assert AuditLog.query.filter_by(action="version.draft").count() == 1
