"""Walk every URL rule of the app, for every role and anonymously, with ids that belong to another organisation.

It fails when a new route forgets its access check: a foreign id must give 403 or 404 (never the object), no body
may show the other organisation's data, anonymous users are sent to log in (401 JSON on the API), and every
endpoint must declare its roles (roles_required) or be listed here as public or open to every logged-in user.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from auditapp.auth.models import ApiToken, Invite, Membership
from auditapp.auth.services import create_invite
from auditapp.disputes.models import Dispute
from auditapp.evaluations.models import Photo
from auditapp.exports.models import ExportJob
from auditapp.extensions import db
from auditapp.notify.models import OutboxMessage
from auditapp.results.models import Action
from auditapp.schedules.models import ScorecardSchedule
from auditapp.timeutil import local_today
from auditapp.visits.models import Assignment
from auditapp.webhooks.models import Webhook

MARKER = "ZQXFOREIGN"  # appears in every text of the other organisation; must never show up
ROLES = ("admin", "manager", "regional_manager", "location_manager", "shopper", "staff")

# Endpoints anyone may open without logging in.
PUBLIC = {"auth.login", "auth.accept", "auth.favicon", "static", "api.openapi", "evaluations.manifest",
          "evaluations.service_worker", "auth.home", "auth.logout",
          "auth.change_language",  # the interface language, picked at the foot of every page, the login page too
          "schedules.shared_file"}  # a signed, expiring link to one scheduled scorecard (the token is the access)
# Endpoints every logged-in user may use (they act on the user's own things only).
ANY_ROLE = {"auth.account", "auth.tokens", "auth.revoke_token"}
# Path arguments that are not ids of tenant objects, with a harmless value.
NON_ID_ARGS = {"slug": "dentist-visit", "token": "no-such-invite", "decision": "approve", "filename": "css/app.css",
               "grain": "month", "kind": "month", "fmt": "xlsx", "step": "done"}


@dataclass
class World:
    home: object
    users: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)  # argument name -> foreign id
    own: dict = field(default_factory=dict)  # argument name -> own id


def _objects(make, org, prefix: str, users: dict) -> dict:
    location = make.location(org, name=f"{prefix} Branch", code=f"{prefix[:3]}1")
    journey = make.journey(org, name=f"{prefix} Journey")
    moment = journey.current_version.moments[0]
    question = moment.questions[0]
    shopper = users["shopper"]
    evaluation = make.evaluation(org, journey, location, shopper, notes=f"{prefix} secret note",
                                 moment_notes={moment.key: f"{prefix} moment note"})
    photo = Photo(public_id=secrets.token_hex(16), org_id=org.id, uploader_id=shopper.id, evaluation_id=evaluation.id,
                  path=f"{org.id}/x.jpg", sha256="0" * 64, width=1, height=1, size_bytes=1)
    assignment = Assignment(org_id=org.id, location_id=location.id, journey_id=journey.id, shopper_id=shopper.id,
                            window_start=local_today(org.timezone), window_end=local_today(org.timezone) + timedelta(days=7),
                            instructions=f"{prefix} instructions")
    action = Action(org_id=org.id, journey_id=journey.id, moment_key=moment.key, idea=f"{prefix} idea",
                    owner_note=f"{prefix} owner", definition_of_done=f"{prefix} done means",
                    owner_id=users["location_manager"].id, due_date=local_today(org.timezone), started_on=local_today(org.timezone))
    message = OutboxMessage(org_id=org.id, user_id=users["manager"].id, to_address=users["manager"].email,
                            kind="critical_fail", subject=f"{prefix} mail subject", body_text=f"{prefix} mail body",
                            dedupe_key=f"walk:{prefix}", last_error=f"{prefix} error")
    export_job = ExportJob(org_id=org.id, user_id=users["manager"].id, kind="scorecard", status="failed",
                           filters={"args": {"journey_id": str(journey.id)}}, error=f"{prefix} export error")
    webhook = Webhook(org_id=org.id, url=f"https://example.com/{prefix}", events=["dispute.opened"], secret="s")
    schedule = ScorecardSchedule(org_id=org.id, journey_id=journey.id, frequency="weekly",
                                 recipients=[f"{prefix.lower()}@example.com"])
    dispute = Dispute(org_id=org.id, evaluation_id=evaluation.id, question_id=question.id, moment_key=moment.key,
                      question_key=question.key, open_key=f"{evaluation.id}:{moment.key}:{question.key}",
                      reason=f"{prefix} dispute reason", opened_by_id=users["location_manager"].id,
                      evidence_kind="pdf", evidence_path=f"{org.id}/disputes/x.pdf", evidence_name=f"{prefix}.pdf")
    db.session.add_all([photo, assignment, action, message, export_job, webhook, schedule, dispute])
    invite, _ = create_invite(org, f"{prefix.lower()}-invitee@example.com", "shopper", None, 7)
    db.session.commit()
    make.token(shopper)
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.org_id == org.id)).first()
    membership = db.session.scalars(db.select(Membership).where(Membership.org_id == org.id)).first()
    return {"location_id": location.id, "journey_id": journey.id, "moment_id": moment.id, "question_id": question.id,
            "evaluation_id": evaluation.id, "public_id": photo.public_id, "assignment_id": assignment.id,
            "action_id": action.id, "invite_id": invite.id, "token_id": token.id, "membership_id": membership.id,
            "version_id": journey.current_version_id, "id": evaluation.id,
            "message_id": message.id, "job_id": export_job.id, "webhook_id": webhook.id, "schedule_id": schedule.id,
            "dispute_id": dispute.id}


def _org_with_users(make, name: str, slug: str) -> tuple:
    org = make.org(name=name, slug=slug)
    staff_location = make.location(org, name=f"{name} staff branch")
    users = {role: make.user(org, role, name=f"{name} {role}", email=f"{role}@{slug}.example",
                             location=staff_location if role == "staff" else None,
                             places=[staff_location] if role == "location_manager" else (),
                             regions=[staff_location.region] if role == "regional_manager" else ()) for role in ROLES}
    return org, users


@pytest.fixture
def world(app, make) -> World:
    home, home_users = _org_with_users(make, "Home Org", "home")
    foreign, foreign_users = _org_with_users(make, f"{MARKER} Org", "zqx")
    world = World(home=home, users=home_users)
    world.own = _objects(make, home, "Home", home_users)
    world.ids = _objects(make, foreign, MARKER, foreign_users)
    assert Invite.query.count() == 2
    return world


def _rules(app, *, skip=("static",)):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in skip:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, values: dict) -> str:
    args = {}
    for name in rule.arguments:
        if name in NON_ID_ARGS:
            args[name] = NON_ID_ARGS[name]
        elif name in values:
            args[name] = values[name]
        else:
            raise AssertionError(f"{rule.rule}: add the argument '{name}' to this test's mapping")
    path = rule.build(args, append_unknown=False)[1]
    # Query-string ids too: pages that take ?journey_id= or ?location= must scope them as well.
    query = "&".join(f"{k}={values[v]}" for k, v in [("journey_id", "journey_id"), ("location_id", "location_id"),
                                                      ("journey", "journey_id"), ("location", "location_id"),
                                                      ("assignment", "assignment_id"), ("fix", "evaluation_id"),
                                                      ("evaluation_id", "evaluation_id")])
    return f"{path}?{query}"


def _send(client, method: str, url: str):
    headers = {"X-Requested-With": "auditapp", "Accept": "text/html"}
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={}, headers=headers)


def _login(client, user_email: str):
    response = client.post("/login", data={"email": user_email, "password": "correct horse battery"})
    assert response.status_code == 302, f"login failed for {user_email}"


def test_every_endpoint_declares_who_may_use_it(app):
    undeclared = []
    for rule, _ in _rules(app):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in PUBLIC | ANY_ROLE:
            continue
        if not getattr(view, "required_roles", None):
            undeclared.append(rule.endpoint)
    assert sorted(set(undeclared)) == [], "use roles_required()/managers_only, or list the endpoint in this test"


def test_anonymous_users_are_sent_to_log_in(app, world):
    client = app.test_client()
    for rule, method in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        response = _send(client, method, _url(rule, world.own))
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, f"{method} {rule.rule}: {response.status_code}"
            assert response.mimetype == "application/problem+json"
        else:
            assert response.status_code == 302 and "/login" in response.location, f"{method} {rule.rule}"


@pytest.mark.parametrize("role", ROLES)
def test_foreign_ids_never_reach_foreign_data(app, world, role):
    client = app.test_client()
    _login(client, world.users[role].email)
    failures = []
    for rule, method in _rules(app, skip=("static", "auth.logout")):  # logging out would end the walk
        id_args = [a for a in rule.arguments if a not in NON_ID_ARGS]
        # All ids foreign; then, where a route takes several, the first one ours and the rest foreign (chain checks).
        attempts = [world.ids]
        if len(id_args) > 1:
            attempts.append({**world.ids, id_args[0]: world.own[id_args[0]]})
        for values in attempts:
            url = _url(rule, values)
            response = _send(client, method, url)
            body = response.get_data()
            if MARKER.encode() in body:
                failures.append(f"{role} {method} {url}: shows the other organisation's data")
            if id_args and response.status_code not in (403, 404):
                failures.append(f"{role} {method} {url}: {response.status_code}, expected 403 or 404")
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
def test_roles_outside_the_declared_ones_get_403(app, world, role):
    client = app.test_client()
    _login(client, world.users[role].email)
    wrong = []
    for rule, method in _rules(app, skip=("static", "auth.logout")):
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        if not roles or role in roles:
            continue
        response = _send(client, method, _url(rule, world.own))
        if response.status_code != 403:
            wrong.append(f"{role} {method} {rule.rule}: {response.status_code}")
    assert wrong == []


def test_the_walk_covers_the_whole_app(app):
    """Sanity: the walk sees the routes of every package, so a package cannot silently drop out of it."""
    endpoints = {rule.endpoint.split(".")[0] for rule, _ in _rules(app)}
    assert {"auth", "api", "journeys", "locations", "evaluations", "visits"} <= endpoints
    walked = {rule.endpoint for rule, _ in _rules(app)}
    assert {"results.action_detail", "results.action_step", "results.action_photo", "results.edit_action",
            "results.my_actions_page", "results.overdue", "results.new_action", "results.actions"} <= walked
    assert all(re.match(r"^[a-z_]+\.[a-z_]+$", r.endpoint) for r, _ in _rules(app))


# --- place-scoped roles: location and regional managers ------------------------------------------------------------

SCOPED_ROLES = ("location_manager", "regional_manager")
# Texts a place-scoped manager must never see: another site's data, work not yet approved, staff self-assessments,
# and who the secret shopper was.
SITE_MARKERS = ("ZQXSITE", "ZQXDRAFT", "ZQXSTAFF", "ZQXSHOPPER")


@dataclass
class SiteWorld:
    users: dict
    own: dict  # ids of things at the manager's own site (an approved shopper visit)
    other: dict  # ids of the same kinds of things at a site of the same organisation they do not look after


@pytest.fixture
def site_world(app, make) -> SiteWorld:
    from auditapp.visits.review import approve

    org = make.org(name="Chain", slug="chain")
    today = local_today(org.timezone)
    own_site = make.location(org, name="Own Branch", code="OWN1", region="North")
    other_site = make.location(org, name="ZQXSITE Branch", code="ZQX9", region="South")
    manager = make.user(org, "manager", email="manager@chain.example")
    shopper = make.user(org, "shopper", name="ZQXSHOPPER Person", email="zqxshopper@chain.example")
    staff = make.user(org, "staff", email="staff@chain.example", location=own_site)
    users = {
        "location_manager": make.user(org, "location_manager", email="site@chain.example", places=[own_site]),
        "regional_manager": make.user(org, "regional_manager", email="region@chain.example", regions=["North"]),
    }
    journey = make.journey(org, name="Chain Journey")
    moment = journey.current_version.moments[0]

    def visit(location, notes, **kw):
        return make.evaluation(org, journey, location, kw.pop("user", shopper), notes=notes,
                               moment_notes={moment.key: notes}, **kw)

    own = visit(own_site, "Own approved visit")
    other = visit(other_site, "ZQXSITE approved visit")
    for evaluation in (own, other):
        approve(evaluation, manager)
    visit(own_site, "ZQXDRAFT waiting for review")
    visit(own_site, "ZQXSTAFF self-assessment", user=staff)
    photo = Photo(public_id=secrets.token_hex(16), org_id=org.id, uploader_id=shopper.id, evaluation_id=other.id,
                  path=f"{org.id}/x.jpg", sha256="0" * 64, width=1, height=1, size_bytes=1)
    action = Action(org_id=org.id, journey_id=journey.id, moment_key=moment.key, idea="ZQXSITE idea",
                    owner_note="ZQXSITE owner", started_on=today, location_id=other_site.id,
                    definition_of_done="ZQXSITE done means", due_date=today - timedelta(days=1))
    own_action = Action(org_id=org.id, journey_id=journey.id, moment_key=moment.key, idea="Own idea",
                        owner_note="Own owner", started_on=today, location_id=own_site.id,
                        due_date=today - timedelta(days=1), owner_id=users["location_manager"].id)
    assignment = Assignment(org_id=org.id, location_id=other_site.id, journey_id=journey.id, shopper_id=shopper.id,
                            window_start=today, window_end=today + timedelta(days=7),
                            instructions="ZQXSITE instructions")
    question = moment.questions[0]
    disputes = [Dispute(org_id=org.id, evaluation_id=e.id, question_id=question.id, moment_key=moment.key,
                        question_key=question.key, open_key=f"{e.id}:{moment.key}:{question.key}",
                        reason=f"{label} dispute reason", opened_by_id=opener.id)
                for e, label, opener in ((own, "Own", users["location_manager"]),
                                         (other, "ZQXSITE", manager))]
    db.session.add_all([photo, action, own_action, assignment, *disputes])
    db.session.commit()
    common = {"journey_id": journey.id, "moment_id": moment.id, "question_id": moment.questions[0].id,
              "version_id": journey.current_version_id, "invite_id": 0, "token_id": 0, "membership_id": 0,
              "job_id": 0, "webhook_id": 0, "schedule_id": 0}
    return SiteWorld(
        users=users,
        own={**common, "location_id": own_site.id, "evaluation_id": own.id, "id": own.id, "public_id": "none",
             "assignment_id": 0, "action_id": own_action.id, "dispute_id": disputes[0].id},
        other={**common, "location_id": other_site.id, "evaluation_id": other.id, "id": other.id,
               "public_id": photo.public_id, "assignment_id": assignment.id, "action_id": action.id,
               "dispute_id": disputes[1].id},
    )


def _opens_for(app, role: str):
    for rule, method in _rules(app, skip=("static", "auth.logout")):
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        if rule.endpoint in ANY_ROLE or (roles and role in roles):
            yield rule, method


@pytest.mark.parametrize("role", SCOPED_ROLES)
def test_place_scoped_managers_see_only_approved_shopper_visits_of_their_own_places(app, site_world, role):
    """Every route a location or regional manager may open, with their own ids and with another site's: another
    site's objects are 404 (or 403), and no page, file or JSON shows another site, unapproved work, staff
    self-assessments or the shopper's name. A new route that forgets the place scope fails here."""
    client = app.test_client()
    _login(client, site_world.users[role].email)
    failures, opened = [], 0
    for rule, method in _opens_for(app, role):
        id_args = [a for a in rule.arguments if a not in NON_ID_ARGS]
        for label, values in (("own", site_world.own), ("other site's", site_world.other)):
            url = _url(rule, values)
            response = _send(client, method, url)
            opened += 1
            body = response.get_data()
            for marker in SITE_MARKERS:
                if marker.encode() in body:
                    failures.append(f"{role} {method} {url} ({label} ids): shows {marker}")
            site_ids = [a for a in id_args if site_world.own.get(a) != site_world.other.get(a)]
            if label != "own" and site_ids and response.status_code not in (403, 404):
                failures.append(f"{role} {method} {url}: {response.status_code}, expected 403 or 404")
    assert opened > 10  # the dashboard, the visits, the scorecard, the API at least
    assert failures == []


@pytest.mark.parametrize("role", SCOPED_ROLES)
def test_place_scoped_managers_reach_their_own_results(app, site_world, role):
    client = app.test_client()
    _login(client, site_world.users[role].email)
    own = site_world.own
    assert client.get(f"/results/journeys/{own['journey_id']}?period=all").status_code == 200
    page = client.get("/sites/visits").get_data(as_text=True)
    assert "Own Branch" in page and f"/sites/visits/{own['evaluation_id']}" in page
    assert client.get(f"/sites/visits/{own['evaluation_id']}").status_code == 200
    assert client.get(f"/disputes/{own['dispute_id']}").status_code == 200
    assert "Own dispute reason" in client.get(f"/disputes/{own['dispute_id']}").get_data(as_text=True)
    assert f"/disputes/{own['dispute_id']}" in client.get("/disputes/").get_data(as_text=True)
    body = client.get(f"/api/v1/scorecard?journey_id={own['journey_id']}").get_json()
    assert body["evaluations"] == 1 and body["status"] == "approved"  # the draft and the staff's do not count
    assert [loc["code"] for loc in client.get("/api/v1/locations").get_json()] == ["OWN1"]
    listed = client.get("/api/v1/evaluations").get_json()["items"]
    assert [e["id"] for e in listed] == [own["evaluation_id"]]
    xlsx = client.get(f"/exports/scorecard.xlsx?journey_id={own['journey_id']}")
    assert xlsx.status_code == 200 and b"ZQX" not in xlsx.data
    refused = client.get(f"/api/v1/scorecard?journey_id={own['journey_id']}&location_id={site_world.other['location_id']}")
    assert refused.status_code == 422
    assert client.get(f"/api/v1/scorecard?journey_id={own['journey_id']}&source=all").status_code == 422
