"""The audit log (issue 8): logins and every change to journeys, evaluations and users, with who, when and what,
viewable by admins only.

Each kind of change is made the way a user makes it (pages, API, CLI) and must leave an AuditLog row with the
acting user (None for the command line and for failed logins), the organisation, the object, and a summary a
person can read (naming the thing changed). Decisions:
- A failed login is logged for an existing account (action user.login_failed, no acting user, the account as the
  object) in that account's organisation, so admins see attacks on their users; a failed login for an unknown email
  is not logged (it belongs to no organisation, and logging it would let anyone fill a log).
- Logging out, viewing pages and uploading a photo (evidence that only counts once an evaluation uses it) are not
  changes and are not logged.
"""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from auditapp.auth.models import AuditLog, Invite, Membership
from auditapp.extensions import db
from auditapp.journeys import versioning
from auditapp.journeys.models import Journey
from auditapp.timeutil import local_today, utcnow
from tests.factories import PASSWORD


@pytest.fixture
def world(make):
    org = make.org(name="Acme", slug="acme")
    admin = make.user(org, "admin", email="admin@example.com", name="Ada Admin")
    manager = make.user(org, "manager", email="boss@example.com", name="Bo Boss")
    shopper = make.user(org, "shopper", email="sam@example.com", name="Sam Shopper")
    staff = make.user(org, "staff", email="staff@example.com", name="Stu Staff")
    location = make.location(org, code="L001", name="Harbour")
    journey = make.journey(org, name="Café order")
    db.session.execute(AuditLog.__table__.delete())  # start each test from an empty log
    db.session.commit()
    return type("World", (), dict(org=org, admin=admin, manager=manager, shopper=shopper, staff=staff,
                                  location=location, journey=journey))


def login(client, email: str, password: str = PASSWORD):
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, f"login of {email} failed"


def logged(action: str, *, by, org, words: tuple[str, ...] = (), obj=None) -> AuditLog:
    """The newest entry for `action`: made by `by` (None: nobody logged in), in `org`, naming `words`."""
    db.session.expire_all()
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id.desc())).first()
    assert entry is not None, f"no audit entry {action}; have {[e.action for e in db.session.scalars(select(AuditLog))]}"
    assert entry.user_id == (by.id if by is not None else None), (action, entry.user_id)
    assert entry.org_id == org.id, action
    assert entry.at == utcnow()  # the frozen clock (tests/clock.py)
    assert entry.summary.strip(), f"{action} has no summary"
    for word in words:
        assert word in entry.summary, f"{action}: {word!r} not in {entry.summary!r}"
    if obj is not None:
        assert (entry.object_type, entry.object_id) == (type(obj).__name__.lower(), obj.id), action
    return entry


def actions() -> list[str]:
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]


# --- users ------------------------------------------------------------------------------------------------------------


def test_login_is_logged_with_the_user(client, world):
    login(client, "sam@example.com")
    logged("user.login", by=world.shopper, org=world.org, words=("sam@example.com",), obj=world.shopper)


def test_a_failed_login_for_an_existing_account_is_logged_an_unknown_email_is_not(client, world):
    response = client.post("/login", data={"email": "sam@example.com", "password": "wrong password"})
    assert response.status_code == 200
    entry = logged("user.login_failed", by=None, org=world.org, words=("sam@example.com",), obj=world.shopper)
    assert "password" not in entry.summary.lower() or "wrong password" not in entry.summary  # never the password typed
    client.post("/login", data={"email": "nobody@example.com", "password": "whatever"})
    assert actions() == ["user.login_failed"]


def test_password_change_is_logged(client, world):
    login(client, "sam@example.com")
    response = client.post("/account", data={"current": PASSWORD, "new": "a new long password", "confirm": "a new long password"})
    assert response.status_code == 302
    logged("user.password_changed", by=world.shopper, org=world.org, words=("sam@example.com",), obj=world.shopper)


def test_invite_accept_and_revoke_are_logged(client, world):
    login(client, "admin@example.com")
    response = client.post("/admin/users", data={"email": "new@example.com", "role": "shopper", "location_id": ""})
    assert response.status_code == 200
    invite = db.session.scalar(select(Invite).where(Invite.email == "new@example.com"))
    logged("user.invited", by=world.admin, org=world.org, words=("new@example.com", "shopper"), obj=invite)
    client.post(f"/admin/invites/{invite.id}/revoke")
    logged("user.invite_revoked", by=world.admin, org=world.org, words=("new@example.com",), obj=invite)

    from auditapp.auth.services import create_invite

    _, token = create_invite(world.org, "joiner@example.com", "staff", world.admin, 7)
    db.session.commit()
    client.post("/logout")
    response = client.post(f"/invite/{token}", data={"name": "Jo Joiner", "password": "a long password 1",
                                                     "confirm": "a long password 1"})
    assert response.status_code == 302
    joiner = db.session.scalar(select(Membership).join(Membership.user).where(Membership.org_id == world.org.id,
                                                                              Membership.role == "staff",
                                                                              Membership.user_id != world.staff.id)).user
    logged("user.joined", by=joiner, org=world.org, words=("joiner@example.com", "staff"), obj=joiner)


def test_role_change_deactivate_and_activate_are_logged(client, world):
    login(client, "admin@example.com")
    membership = world.shopper.membership_in(world.org.id)
    client.post(f"/admin/users/{membership.id}/role", data={"role": "manager", "location_id": ""})
    logged("user.role_changed", by=world.admin, org=world.org, words=("sam@example.com", "shopper", "manager"),
           obj=world.shopper)
    client.post(f"/admin/users/{membership.id}/active")
    logged("user.deactivated", by=world.admin, org=world.org, words=("sam@example.com",), obj=world.shopper)
    client.post(f"/admin/users/{membership.id}/active")
    logged("user.activated", by=world.admin, org=world.org, words=("sam@example.com",), obj=world.shopper)


def test_cli_create_admin_is_logged(runner, world):
    result = runner.invoke(args=["create-admin", "--org-name", "Acme", "--org-slug", "acme",
                                 "--email", "second@example.com", "--name", "Second Admin",
                                 "--password", "a long password 2"])
    assert result.exit_code == 0, result.output
    entry = logged("user.created", by=None, org=world.org, words=("second@example.com", "admin"))
    assert entry.object_type == "user"


def test_cli_making_an_existing_user_admin_is_logged(runner, world):
    result = runner.invoke(args=["create-admin", "--org-name", "Acme", "--org-slug", "acme",
                                 "--email", "sam@example.com", "--password", "a long password 2"])
    assert result.exit_code == 0, result.output
    logged("user.role_changed", by=None, org=world.org, words=("sam@example.com", "shopper", "admin"), obj=world.shopper)


def test_api_tokens_created_and_revoked_in_the_ui_and_cli_are_logged(client, runner, world):
    login(client, "boss@example.com")
    client.post("/tokens", data={"name": "Power BI"})
    entry = logged("token.created", by=world.manager, org=world.org, words=("Power BI", "boss@example.com"))
    client.post(f"/tokens/{entry.object_id}/revoke")
    logged("token.revoked", by=world.manager, org=world.org, words=("Power BI",))
    result = runner.invoke(args=["create-token", "--email", "sam@example.com", "--name", "script"])
    assert result.exit_code == 0
    logged("token.created", by=None, org=world.org, words=("script", "sam@example.com"))


# --- journeys -------------------------------------------------------------------------------------------------------------


def test_every_builder_change_is_logged(client, make, world):
    login(client, "boss@example.com")
    by, org = world.manager, world.org
    assert client.post("/journeys/new", data={"name": "Dentist visit", "description": ""}).status_code == 302
    journey = db.session.scalar(select(Journey).where(Journey.name == "Dentist visit"))
    logged("journey.create", by=by, org=org, words=("Dentist visit",), obj=journey)
    client.post(f"/journeys/{journey.id}/edit", data={"name": "Dentist check-up", "description": "Yearly"})
    logged("journey.update", by=by, org=org, words=("Dentist check-up",), obj=journey)

    for name in ("Booking call", "Arrival"):
        client.post(f"/journeys/{journey.id}/moments/new", data={"name": name, "channel": "phone", "kind": "", "weight": "1"})
        logged("moment.create", by=by, org=org, words=(name,), obj=journey)
    draft = versioning.draft_version(journey)
    booking, arrival = draft.moments
    client.post(f"/journeys/{journey.id}/moments/{arrival.id}/edit",
                data={"name": "Arrival at reception", "key": arrival.key, "channel": "face_to_face", "kind": "",
                      "weight": "2"})
    logged("moment.update", by=by, org=org, words=("Arrival at reception",), obj=journey)
    client.post(f"/journeys/{journey.id}/moments/{arrival.id}/move", data={"direction": "up"})
    logged("moment.move", by=by, org=org, words=("Arrival at reception", "up"), obj=journey)

    for text in ("Answered within 3 rings?", "Name given?"):
        client.post(f"/journeys/{journey.id}/moments/{booking.id}/questions/new",
                    data={"text": text, "type": "yes_no", "weight": "1"})
        logged("question.create", by=by, org=org, words=("Booking call",), obj=journey)
    db.session.expire_all()
    rings, name_given = [q for q in versioning.draft_version(journey).moments[1].questions if q.key != "verdict"]
    client.post(f"/journeys/{journey.id}/questions/{rings.id}/edit",
                data={"text": "Answered within 2 rings?", "key": rings.key, "type": "yes_no", "weight": "1"})
    logged("question.update", by=by, org=org, words=(rings.key, "Booking call"), obj=journey)
    client.post(f"/journeys/{journey.id}/questions/{name_given.id}/move", data={"direction": "up"})
    logged("question.move", by=by, org=org, words=(name_given.key,), obj=journey)
    client.post(f"/journeys/{journey.id}/questions/{name_given.id}/delete")
    logged("question.delete", by=by, org=org, words=(name_given.key,), obj=journey)

    client.post(f"/journeys/{journey.id}/publish")
    logged("version.publish", by=by, org=org, words=("Dentist check-up", "1"), obj=journey)
    # Once the version has answers, an edit starts a new draft: a moment deleted there, then the draft discarded.
    db.session.expire_all()
    make.evaluation(org, journey, world.location, world.shopper)
    published_booking = journey.current_version.moments[1]
    client.post(f"/journeys/{journey.id}/moments/{published_booking.id}/delete")
    logged("version.draft", by=by, org=org, words=("Dentist check-up",), obj=journey)
    logged("moment.delete", by=by, org=org, words=("Booking call",), obj=journey)
    client.post(f"/journeys/{journey.id}/discard")
    logged("version.discard", by=by, org=org, words=("Dentist check-up",), obj=journey)

    client.post(f"/journeys/{journey.id}/archive")
    logged("journey.archive", by=by, org=org, words=("Dentist check-up",), obj=journey)
    client.post(f"/journeys/{journey.id}/restore")
    logged("journey.restore", by=by, org=org, words=("Dentist check-up",), obj=journey)


def test_workbook_imports_and_library_copies_are_logged(client, runner, world, tmp_path):
    from auditapp.journeys.services import version_to_spec
    from auditapp.journeys.workbook import write_journey_workbook

    data = write_journey_workbook(version_to_spec(world.journey, world.journey.current_version))
    spec = version_to_spec(world.journey, world.journey.current_version)
    spec.name = "Café order, new"  # a name not taken yet imports at once (a taken one asks first)
    login(client, "boss@example.com")
    response = client.post("/journeys/import", data={"workbook": (io.BytesIO(write_journey_workbook(spec)), "cafe.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    logged("journey.import", by=world.manager, org=world.org, words=("Café order, new", "cafe.xlsx"))
    response = client.post(f"/journeys/{world.journey.id}/import", data={"workbook": (io.BytesIO(data), "cafe.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    logged("journey.upload", by=world.manager, org=world.org, words=("Café order",), obj=world.journey)
    client.post("/journeys/library/dentist-visit/copy")
    logged("journey.import", by=world.manager, org=world.org, words=("dentist-visit",))
    path = tmp_path / "cafe.xlsx"
    path.write_bytes(data)
    assert runner.invoke(args=["import-journey", "--org", "acme", "--if-exists", "copy", str(path)]).exit_code == 0
    logged("journey.import", by=None, org=world.org, words=("Café order (2)", "cafe.xlsx", "as a copy"))


# --- evaluations ----------------------------------------------------------------------------------------------------------


def _payload(world, uuid: str) -> dict:
    return {"client_uuid": uuid, "journey_id": world.journey.id, "location_id": world.location.id, "source": "shopper",
            "started_at": "2025-01-01T10:00:00Z",
            "answers": [{"moment": m, "question": "verdict", "value": "neutral"} for m in ("greeting", "order", "farewell")]
            + [{"moment": "greeting", "question": "greeted", "value": "yes"}]}


def test_evaluation_submitted_returned_resubmitted_approved_rejected_are_logged(client, make, world):
    from auditapp.evaluations.models import Evaluation

    token = make.token(world.shopper)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/evaluations", json=_payload(world, "audit-eval-01"), headers=headers)
    assert response.status_code == 201
    evaluation = db.session.get(Evaluation, response.json["id"])
    logged("evaluation.submitted", by=world.shopper, org=world.org, words=("Café order", "Harbour"), obj=evaluation)
    assert client.post("/api/v1/evaluations", json=_payload(world, "audit-eval-01"), headers=headers).status_code == 200
    assert actions().count("evaluation.submitted") == 1  # a replay changes nothing, so logs nothing

    login(client, "boss@example.com")
    client.post(f"/visits/review/{evaluation.id}/return", data={"return-comment": "Add the waiting time"})
    logged("evaluation.returned", by=world.manager, org=world.org, words=(str(evaluation.id), "Add the waiting time"),
           obj=evaluation)
    fixed = _payload(world, "audit-eval-01")
    fixed["notes"] = "Waited 4 minutes"
    assert client.post("/api/v1/evaluations", json=fixed, headers=headers).status_code == 200
    logged("evaluation.resubmitted", by=world.shopper, org=world.org, words=(str(evaluation.id),), obj=evaluation)
    client.post(f"/visits/review/{evaluation.id}/approve", data={"approve-comment": ""})
    logged("evaluation.approved", by=world.manager, org=world.org, words=(str(evaluation.id),), obj=evaluation)
    client.post(f"/visits/review/{evaluation.id}/reject", data={"reject-comment": "Visited the wrong branch"})
    logged("evaluation.rejected", by=world.manager, org=world.org, words=("Visited the wrong branch",), obj=evaluation)


def test_evaluation_from_the_phone_form_is_logged(client, world):
    login(client, "staff@example.com")
    response = client.post("/evaluations/new", query_string={"location": world.location.id, "journey": world.journey.id},
                           data={"client_uuid": "audit-form-0001", "started_at": "2025-01-01T10:00:00Z",
                                 "location_id": str(world.location.id), "answers.greeting.greeted": "yes",
                                 "answers.greeting.verdict": "magical", "answers.order.verdict": "neutral",
                                 "answers.farewell.verdict": "neutral"})
    assert response.status_code == 302
    logged("evaluation.submitted", by=world.staff, org=world.org, words=("Staff", "Harbour"))


def test_visits_and_actions_are_logged(client, world):
    login(client, "boss@example.com")
    today = local_today(world.org.timezone)
    client.post("/visits/new", data={"location_id": str(world.location.id), "journey_id": str(world.journey.id),
                                     "shopper_id": str(world.shopper.id), "window_start": today.isoformat(),
                                     "window_end": (today + timedelta(days=3)).isoformat()})
    entry = logged("assignment.created", by=world.manager, org=world.org, words=("Harbour", "Café order", "Sam Shopper"))
    client.post(f"/visits/{entry.object_id}/cancel")
    logged("assignment.cancelled", by=world.manager, org=world.org, words=(str(entry.object_id),))
    if "results.new_action" not in client.application.view_functions:
        return
    due = (today + timedelta(days=7)).isoformat()
    client.post(f"/results/journeys/{world.journey.id}/actions/new",
                data={"moment_key": "greeting", "idea": "Greet within ten seconds", "owner_id": str(world.manager.id),
                      "definition_of_done": "Greeted within ten seconds on three visits", "location_id": "",
                      "started_on": today.isoformat(), "due_date": due})
    entry = logged("action.create", by=world.manager, org=world.org, words=("Greet within ten seconds",))
    client.post(f"/results/actions/{entry.object_id}/edit",
                data={"moment_key": "greeting", "idea": "Greet within ten seconds", "owner_id": str(world.manager.id),
                      "definition_of_done": "Greeted within ten seconds on four visits", "location_id": "",
                      "started_on": today.isoformat(), "due_date": due})
    logged("action.update", by=world.manager, org=world.org, words=("definition_of_done",))
    client.post(f"/results/actions/{entry.object_id}/done", data={"done-note": "Briefed the morning shift"})
    logged("action.done", by=world.manager, org=world.org, words=("marked done", "Briefed the morning shift"))
    client.post(f"/results/actions/{entry.object_id}/reopen", data={"reopen-note": "Not on the late shift"})
    logged("action.reopened", by=world.manager, org=world.org, words=("reopened", "Not on the late shift"))


# --- locations and settings -----------------------------------------------------------------------------------------------


def test_location_changes_and_imports_are_logged(client, runner, world, tmp_path):
    from auditapp.locations.models import Location

    login(client, "boss@example.com")
    client.post("/locations/new", data={"code": "L002", "name": "Airport", "region": "South"})
    airport = db.session.scalar(select(Location).where(Location.code == "L002"))
    logged("location.created", by=world.manager, org=world.org, words=("L002", "Airport"), obj=airport)
    client.post(f"/locations/{airport.id}/edit", data={"code": "L002", "name": "Airport T2", "region": "South"})
    logged("location.updated", by=world.manager, org=world.org, words=("Airport T2",), obj=airport)
    client.post(f"/locations/{airport.id}/archive")
    logged("location.archived", by=world.manager, org=world.org, words=("Airport T2",), obj=airport)
    client.post(f"/locations/{airport.id}/unarchive")
    logged("location.unarchived", by=world.manager, org=world.org, words=("Airport T2",), obj=airport)
    client.post("/locations/import", data={"file": (io.BytesIO(b"code,name,region\nL003,Station,North\n"), "l.csv")},
                content_type="multipart/form-data")
    logged("location.imported", by=world.manager, org=world.org, words=("1",))
    path = tmp_path / "more.csv"
    path.write_bytes(b"code,name,region\nL004,Quay,North\n")
    assert runner.invoke(args=["import-locations", "--org", "acme", str(path)]).exit_code == 0
    logged("location.imported", by=None, org=world.org, words=("1",))


def test_settings_change_is_logged_with_old_and_new_values(client, world):
    login(client, "admin@example.com")
    response = client.post("/settings", data={"name": "Acme Coffee", "timezone": "Europe/Stockholm",
                                              "band_low": "40", "band_high": "85"})
    assert response.status_code == 302
    logged("organisation.settings_changed", by=world.admin, org=world.org,
           words=("Acme -> Acme Coffee", "Europe/Stockholm", "40", "85"), obj=world.org)


# --- who may read it ------------------------------------------------------------------------------------------------------


def test_admins_see_the_log_with_who_when_and_what(client, make, world):
    other = make.org(name="Other", slug="other")
    make.user(other, "admin", email="other-admin@example.com")
    login(client, "other-admin@example.com")  # another organisation's login: must not show up below
    login(client, "boss@example.com")
    client.post("/locations/new", data={"code": "L009", "name": "Mall", "region": ""})
    login(client, "admin@example.com")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "location.created" in text and "Location L009 Mall created" in text and "boss@example.com" in text
    assert "user.login" in text and "admin@example.com" in text
    assert "other-admin@example.com" not in text
    assert f"{utcnow():%Y-%m-%d %H:%M}" in text  # when (UTC organisation, frozen clock)


@pytest.mark.parametrize("email", ["boss@example.com", "sam@example.com", "staff@example.com"])
def test_non_admins_get_403(client, world, email):
    login(client, email)
    assert client.get("/admin/audit").status_code == 403


def test_anonymous_is_sent_to_login(client, world):
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/login" in response.location
