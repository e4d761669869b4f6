"""Hostile input catalogue, part 1: stored and reflected XSS.

Script payloads go into every kind of user text (journey, moment and question texts, help, choice labels, location
names, codes and regions, user and organisation names, evaluation, answer and moment notes, text answers, review
comments, visit instructions, token labels, action ideas); then every page that shows them is fetched as a role that
sees it. Each page is parsed with html.parser: no element may carry an on* attribute, no inline <script>, no
<img src=x>, no <svg> (from the payload) and no javascript: link, and the payload must show up as text (so the
test fails if a page stops showing the field, rather than passing on an empty page).
"""
from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from auditapp.extensions import db
from auditapp.journeys.spec import JourneySpec, MomentSpec, OptionSpec, QuestionSpec
from auditapp.locations.models import Location
from auditapp.timeutil import local_today

# The payload of the brief, in one string: a script element, an attribute breakout into an <img onerror>, a
# javascript: URL and a </title> breakout into an <svg onload>.
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>javascript:alert(1)</title><svg onload=alert(1)>'
SHORT = "<script>alert(1)</script><svg onload=alert(1)>"  # for fields of 64 or 100 characters
LABEL_SAFE = "<script>alert(1)</script>"  # choice labels cannot hold '=' or '|' (the options syntax)


def hostile(label: str) -> str:
    return f"[{label}] {PAYLOAD}"


class PageScan(HTMLParser):
    """Collects the problems of one HTML page and the text a reader would see (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []
        self._script_depth = 0

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag}> has an event handler attribute {name}={value!r}")
            if name in ("href", "src", "action", "formaction", "xlink:href") and value \
                    and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if value:
                self.texts.append(value)
        if tag == "script" and not found.get("src"):
            self.problems.append("an inline <script> element")
        if tag == "img" and found.get("src") == "x":
            self.problems.append("an <img src=x> element from the payload")
        if tag == "svg" and "onload" in found:
            self.problems.append("an <svg onload> element")

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs)

    def handle_data(self, data):
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    parser.close()
    return parser


def assert_safe(response, *expected: str, url: str = "") -> PageScan:
    """The page is HTML, carries no payload as markup, and shows each `expected` text (escaped, so as text)."""
    where = url or response.request.path
    assert response.status_code == 200, f"{where}: {response.status_code}"
    assert response.mimetype == "text/html", where
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html, where
    assert "<svg onload" not in html, where
    assert "<img src=x" not in html, where
    page = scan(html)
    assert not page.problems, f"{where}: {page.problems}"
    text = page.text
    for wanted in expected:
        assert wanted in text, f"{where} should show {wanted!r}"
    return page


# --- the hostile organisation --------------------------------------------------------------------------------------------


def hostile_spec() -> JourneySpec:
    return JourneySpec(name=hostile("journey"), description=hostile("journey description"), moments=[
        MomentSpec(key="greeting", name=hostile("moment 1"), channel="face_to_face", kind="basic", priority=True,
                   description=hostile("moment description"), expected_seconds=30, questions=[
                       QuestionSpec(key="greeted", text=hostile("question yes_no"), type="yes_no", required=True,
                                    help=hostile("help")),
                       QuestionSpec(key="speed", text=hostile("question choice"), type="choice", options=(
                           OptionSpec(LABEL_SAFE, 1.0), OptionSpec("Slow", 0.0))),
                   ]),
        MomentSpec(key="farewell", name=hostile("moment 2"), channel="phone", questions=[
            QuestionSpec(key="comment", text=hostile("question text"), type="text"),
            QuestionSpec(key="wait", text="Seconds waited", type="number", target="<=60"),
        ]),
    ])


class World:
    pass


@pytest.fixture
def world(app, make):
    from auditapp.auth.services import create_api_token
    from auditapp.journeys.services import create_journey_from_spec
    from auditapp.visits.review import approve, reject, return_to_evaluator
    from auditapp.visits.services import create_assignment

    w = World()
    w.org = make.org(name=hostile("organisation"))
    w.location = Location(org_id=w.org.id, code=SHORT, name=hostile("location"), region=hostile("region"))
    db.session.add(w.location)
    db.session.commit()
    w.admin = make.user(w.org, "admin", email="admin@example.com", name=hostile("admin name"))
    w.manager = make.user(w.org, "manager", email="manager@example.com", name=hostile("manager name"))
    w.shopper = make.user(w.org, "shopper", email="shopper@example.com", name=hostile("shopper name"))
    w.staff = make.user(w.org, "staff", email="staff@example.com", name=hostile("staff name"), location=w.location)
    w.journey = create_journey_from_spec(w.org.id, hostile_spec())
    db.session.commit()
    w.moment = w.journey.current_version.moments[0]
    w.question = w.moment.questions[0]

    def evaluation(user, tag: str, **kw):
        answers = {"greeting.greeted": ("yes", hostile(f"{tag} answer note")), "greeting.speed": LABEL_SAFE,
                   "farewell.comment": hostile(f"{tag} text answer"), "greeting.verdict": "magical",
                   "farewell.verdict": "miserable"}
        return make.evaluation(w.org, w.journey, w.location, user, answers=answers, notes=hostile(f"{tag} notes"),
                               moment_notes={"greeting": hostile(f"{tag} moment note")}, **kw)

    w.returned = evaluation(w.shopper, "returned")
    return_to_evaluator(w.returned, w.manager, hostile("return comment"))
    w.rejected = evaluation(w.shopper, "rejected")
    reject(w.rejected, w.manager, hostile("reject reason"))
    w.approved = evaluation(w.shopper, "approved")
    approve(w.approved, w.manager, hostile("approve comment"))
    w.staff_evaluation = evaluation(w.staff, "staff")
    today = local_today(w.org.timezone)
    w.assignment = create_assignment(w.org.id, location=w.location, journey=w.journey, shopper=w.shopper,
                                     window_start=today - timedelta(days=1), window_end=today + timedelta(days=7),
                                     instructions=hostile("instructions"), user=w.manager)
    create_api_token(w.manager, w.org.id, SHORT)
    from auditapp.results.actions import ActionData, create_action, transition

    w.action = create_action(w.org.id, w.journey.id, ActionData(
        moment_key="greeting", idea=hostile("action idea"), definition_of_done=hostile("action done means"),
        owner_id=w.manager.id, due_date=today + timedelta(days=7)), user=w.manager, today=today)
    w.action.owner_note = hostile("action owner")[:200]  # an owner typed as text before owners were users
    transition(w.action, "done", user=w.manager, note=hostile("action evidence"))
    db.session.commit()
    return w


def login(client, email: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": "correct horse battery"})
    assert response.status_code == 302, f"login of {email} failed"


# --- pages, by role ---------------------------------------------------------------------------------------------------


def test_journey_builder_pages_escape_everything(client, world):
    w = world
    login(client, "manager@example.com")
    j, m, q = w.journey.id, w.moment.id, w.question.id
    choice = w.moment.questions[1]
    assert_safe(client.get("/journeys/"), hostile("journey"))
    assert_safe(client.get(f"/journeys/{j}"), hostile("journey"), hostile("moment 1"), hostile("moment 2"))
    assert_safe(client.get(f"/journeys/{j}/moments/{m}"), hostile("moment 1"), hostile("question yes_no"),
                hostile("help"), hostile("moment description"))
    assert_safe(client.get(f"/journeys/{j}/moments/{choice.moment_id}"), LABEL_SAFE)
    assert_safe(client.get(f"/journeys/{j}/edit"), hostile("journey"), hostile("journey description"))
    assert_safe(client.get(f"/journeys/{j}/moments/{m}/edit"), hostile("moment 1"), hostile("moment description"))
    assert_safe(client.get(f"/journeys/{j}/questions/{q}/edit"), hostile("question yes_no"), hostile("help"))
    assert_safe(client.get(f"/journeys/{j}/questions/{choice.id}/edit"), hostile("question choice"), LABEL_SAFE)
    assert_safe(client.get(f"/journeys/{j}/moments/{m}/questions/new"), hostile("moment 1"))
    assert_safe(client.get(f"/journeys/{j}/moments/new"), hostile("journey"))
    assert_safe(client.get(f"/journeys/{j}/import"), hostile("journey"))
    assert_safe(client.get("/journeys/library"))
    # The delete confirmations name what goes (they make a draft first, so the published version is untouched).
    assert_safe(client.get(f"/journeys/{j}/questions/{q}/delete", follow_redirects=True), hostile("question yes_no"))
    assert_safe(client.get(f"/journeys/{j}/moments/{m}/delete", follow_redirects=True), hostile("moment 1"))


def test_builder_forms_with_errors_show_the_payload_escaped(client, world):
    login(client, "manager@example.com")
    j, m = world.journey.id, world.moment.id
    # A moment with a bad key: the form comes back with what was typed.
    response = client.post(f"/journeys/{j}/moments/new", data={
        "name": hostile("typed moment"), "key": "Bad Key!", "channel": "phone", "kind": "", "weight": "1",
        "description": hostile("typed description")})
    assert response.status_code in (200, 422)
    response.status_code = 200
    assert_safe(response, hostile("typed moment"), hostile("typed description"))
    response = client.post(f"/journeys/{j}/moments/{m}/questions/new", data={
        "text": hostile("typed question"), "key": "", "type": "choice", "options": "", "target": "",
        "help": hostile("typed help"), "weight": "1"})
    response.status_code = 200 if response.status_code in (200, 422) else response.status_code
    assert_safe(response, hostile("typed question"), hostile("typed help"))


def test_locations_pages_and_qr_codes_escape_everything(client, world):
    w = world
    login(client, "manager@example.com")
    assert_safe(client.get("/locations/"), hostile("location"), hostile("region"), SHORT)
    assert_safe(client.get(f"/locations/{w.location.id}/edit"), hostile("location"), hostile("region"), SHORT)
    page = assert_safe(client.get(f"/locations/{w.location.id}/qr"), hostile("location"), hostile("journey"))
    assert any("QR code: " + hostile("journey") in t for t in page.texts)  # the <title> of the QR code's SVG
    assert_safe(client.get("/locations/qr"), hostile("location"))
    # Reflected: the search and region filter are echoed back into the form.
    assert_safe(client.get("/locations/", query_string={"q": SHORT, "region": PAYLOAD[:100]}), SHORT)
    # A form with an error keeps the typed (hostile) text, escaped.
    response = client.post("/locations/new", data={"code": "", "name": hostile("typed location"), "region": SHORT})
    response.status_code = 200 if response.status_code in (200, 422) else response.status_code
    assert_safe(response, hostile("typed location"), SHORT)


def test_visit_and_review_pages_escape_everything(client, world):
    w = world
    login(client, "manager@example.com")
    assert_safe(client.get("/visits/"), hostile("location"), hostile("shopper name"), hostile("journey"))
    assert_safe(client.get("/visits/new"), hostile("location"), hostile("shopper name"))
    assert_safe(client.get("/visits/plan"), hostile("journey"), hostile("shopper name"))
    assert_safe(client.get("/visits/review"), hostile("location"), hostile("shopper name"))
    assert_safe(client.get("/visits/review", query_string={"status": "rejected"}), hostile("shopper name"))
    assert_safe(client.get(f"/visits/review/{w.returned.id}"), hostile("returned notes"),
                hostile("returned answer note"), hostile("returned moment note"), hostile("returned text answer"),
                hostile("return comment"), hostile("moment 1"), hostile("question yes_no"), LABEL_SAFE)
    assert_safe(client.get(f"/visits/review/{w.rejected.id}"), hostile("reject reason"))
    assert_safe(client.get(f"/visits/review/{w.approved.id}"), hostile("approve comment"))
    assert_safe(client.get(f"/visits/coaching/{w.staff_evaluation.id}"), hostile("moment 1"))
    assert_safe(client.get(f"/evaluations/{w.approved.id}"), hostile("approved notes"), hostile("approved answer note"),
                hostile("approved moment note"), hostile("approved text answer"))
    # A refused decision (no reason) comes back with the page and a message.
    response = client.post(f"/visits/review/{w.approved.id}/reject", data={"reject-comment": ""})
    response.status_code = 200 if response.status_code in (200, 422) else response.status_code
    assert_safe(response, hostile("approved notes"))


def test_shopper_pages_escape_everything(client, world):
    w = world
    login(client, "shopper@example.com")
    where = {"location": w.location.id, "journey": w.journey.id}
    assert_safe(client.get("/evaluations/start"), hostile("location"), hostile("journey"))
    assert_safe(client.get("/evaluations/start", query_string=where), hostile("location"), hostile("journey"))
    assert_safe(client.get("/evaluations/new", query_string=where), hostile("moment 1"), hostile("question yes_no"),
                hostile("help"), LABEL_SAFE, hostile("question text"), hostile("location"))
    assert_safe(client.get("/evaluations/mine"), hostile("journey"), hostile("location"))
    assert_safe(client.get(f"/evaluations/{w.approved.id}"), hostile("approved notes"), hostile("approved answer note"),
                hostile("approved moment note"), hostile("approved text answer"), LABEL_SAFE)
    assert_safe(client.get("/visits/mine"), hostile("location"), hostile("instructions"))
    assert_safe(client.get(f"/visits/fix/{w.returned.id}"), hostile("return comment"), hostile("returned notes"),
                hostile("returned answer note"), hostile("returned text answer"))
    # The form sent back with errors keeps the hostile text typed into it.
    response = client.post("/evaluations/new", query_string=where, data={
        "client_uuid": "hostile-xss-0001", "started_at": "2020-01-01T00:00:00Z", "location_id": str(w.location.id),
        "notes": hostile("typed notes"), "answers.farewell.comment": hostile("typed answer"),
        "answer_notes.greeting.greeted": hostile("typed answer note"), "moment_notes.greeting": hostile("typed moment note"),
        "answers.greeting.greeted": "perhaps"})
    assert response.status_code == 422
    response.status_code = 200
    assert_safe(response, hostile("typed notes"), hostile("typed answer"), hostile("typed answer note"),
                hostile("typed moment note"))


def test_staff_pages_escape_everything(client, world):
    w = world
    login(client, "staff@example.com")
    assert_safe(client.get("/evaluations/start"), hostile("location"), hostile("journey"))
    assert_safe(client.get("/evaluations/new", query_string={"location": w.location.id, "journey": w.journey.id}),
                hostile("moment 1"))
    assert_safe(client.get(f"/visits/coaching/{w.staff_evaluation.id}"), hostile("moment 1"))
    assert_safe(client.get(f"/evaluations/{w.staff_evaluation.id}"), hostile("staff notes"))
    assert_safe(client.get("/evaluations/mine"), hostile("journey"))


def test_admin_pages_and_audit_log_escape_everything(client, world):
    login(client, "admin@example.com")
    assert_safe(client.get("/admin/users"), hostile("manager name"), hostile("shopper name"), hostile("location"))
    # Audit summaries quote user text: the review comment and the visit's location, journey and shopper.
    assert_safe(client.get("/admin/audit"), hostile("reject reason"), hostile("return comment"), hostile("location"),
                hostile("shopper name"))
    assert_safe(client.get("/settings"), hostile("organisation"))
    assert_safe(client.get("/account"), hostile("organisation"))
    login(client, "manager@example.com")
    assert_safe(client.get("/tokens"), SHORT)


def test_login_next_parameter_is_not_reflected_as_markup(client, world):
    assert_safe(client.get("/login", query_string={"next": PAYLOAD}))
    response = client.post("/login", data={"email": PAYLOAD[:200], "password": "x", "next": PAYLOAD})
    assert_safe(response, PAYLOAD[:200])


def _results_urls(app, w) -> list[str]:
    """Every GET page of the results blueprint, with this world's ids for its arguments."""
    values = {"journey_id": w.journey.id, "location_id": w.location.id, "moment_key": "greeting", "key": "greeting",
              "moment_id": w.moment.id, "evaluation_id": w.approved.id, "action_id": w.action.id}
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("results.") or "GET" not in rule.methods:
            continue
        if not set(rule.arguments) <= set(values):
            continue
        path = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        if path.endswith((".xlsx", ".csv", ".json")):
            continue
        urls.append(path)
    return urls


def test_results_pages_and_svg_charts_escape_everything(app, client, world):
    urls = _results_urls(app, world)
    assert len(urls) >= 4  # the dashboard, its drill-down and the action pages at least
    login(client, "manager@example.com")
    for url in urls:
        for query in ({}, {"journey": world.journey.id, "journey_id": world.journey.id, "location": world.location.id,
                           "moment": "greeting"}):
            response = client.get(url, query_string=query)
            if response.status_code in (302, 404):
                continue
            assert_safe(response, url=url)
    # The dashboard of the journey names its moments in the charts and tables.
    response = client.get(urls[0], query_string={"journey": world.journey.id, "journey_id": world.journey.id})
    if response.status_code == 200:
        assert_safe(response, url=urls[0])


def test_json_api_answers_json_with_the_text_verbatim(client, world):
    from auditapp.auth.services import create_api_token

    _, token = create_api_token(world.manager, world.org.id, "api")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    journeys = client.get("/api/v1/journeys", headers=headers)
    assert journeys.status_code == 200 and journeys.mimetype == "application/json"
    assert journeys.json[0]["name"] == hostile("journey")
    assert journeys.json[0]["moments"][0]["questions"][1]["choices"][0]["label"] == LABEL_SAFE
    locations = client.get("/api/v1/locations", headers=headers)
    assert locations.mimetype == "application/json"
    assert locations.json[0]["name"] == hostile("location") and locations.json[0]["code"] == SHORT
    listed = client.get("/api/v1/evaluations", headers=headers)
    assert listed.mimetype == "application/json"
    assert hostile("approved notes") in {e["notes"] for e in listed.json["items"]}
    one = client.get(f"/api/v1/evaluations/{world.approved.id}", headers=headers)
    assert one.mimetype == "application/json" and one.json["notes"] == hostile("approved notes")
    # Errors are problem+json, even when the request carries markup.
    bad = client.post("/api/v1/evaluations", headers=headers, data=json.dumps({"client_uuid": PAYLOAD}),
                      content_type="application/json")
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    missing = client.get("/api/v1/evaluations/999999", headers=headers)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    unknown = client.get("/api/v1/" + "%3Cscript%3Ealert(1)%3C/script%3E", headers=headers)
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert "<script>" not in unknown.get_data(as_text=True)


def test_results_pages_show_the_payload_as_text(client, world):
    login(client, "manager@example.com")
    j = world.journey.id
    # The dashboard: score table, heatmap (locations x moments), trend and verdict charts, perception gap, notes.
    dash = assert_safe(client.get(f"/results/journeys/{j}"), hostile("journey"), hostile("moment 1"), hostile("moment 2"),
                       hostile("approved moment note"))
    assert any(t.startswith("Trend: " + hostile("moment 1")) for t in dash.texts)  # an SVG chart's title
    assert any(hostile("location") in t for t in dash.texts if "rows by" in t)  # the heatmap's description
    assert any(hostile("moment 1") + ": shoppers" in t for t in dash.texts)  # the shoppers-vs-staff gap chart
    drill = assert_safe(client.get(f"/results/journeys/{j}/evaluations", query_string={"moment": "greeting"}),
                        hostile("approved notes"), hostile("approved answer note"), hostile("question yes_no"))
    assert hostile("rejected notes") not in drill.text  # rejected evaluations never count
    assert_safe(client.get(f"/results/journeys/{j}/actions"), hostile("action idea"))
    assert_safe(client.get(f"/results/actions/{world.action.id}"), hostile("action idea"), hostile("action done means"),
                hostile("action owner")[:200], hostile("action evidence"))
    assert_safe(client.get(f"/results/actions/{world.action.id}/edit"), hostile("action idea"))
    assert_safe(client.get("/results/actions/mine"), hostile("action idea")[:100])
    assert_safe(client.get("/results/actions/overdue"), "Overdue actions")
    assert_safe(client.get(f"/results/journeys/{j}/actions/new", query_string={"moment": "greeting"}), hostile("moment 1"))
