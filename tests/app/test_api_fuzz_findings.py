"""What Schemathesis found in the API (.ci/api_fuzz.py, issue 16), each kept fixed by a plain test-client test.

1. A Unicode digit such as '²' is a digit to str.isdigit() but not to int(): every id or limit read from a query or a
   body answered 500. Now 422, naming the field.
2. A 405 answer had no Allow header (RFC 9110 requires one).
3. POST /exports read any JSON value as text: `"to": {}` beside a preset period, `"status": null`, a number for the
   region... Now a wrong JSON type is a 422 naming the field; null is the same as leaving the field out (documented).
4. The document did not say what the API accepts: empty query values (`?from=`) are the same as leaving the
   parameter out (now `allowEmptyValue`), ids in a query have at most 18 digits, the export body's enums, a dispute
   reason must have a character that is not a space, declining needs a reason and accepting a value.
5. The document had no links, so stateful testing had nothing to follow.
6. On PostgreSQL, an id larger than an INTEGER column holds (2**31 - 1) answered 500 ("integer out of range") in a
   path, a query, a body and a forged cursor: path ids stopped at 2**63 - 1 and query ids at 18 digits. Now
   auditapp.formutil.MAX_ID bounds them all: a 404 in a path, a 422 naming the field elsewhere.
7. On PostgreSQL, a NUL character (U+0000) in a dispute's keys or reason, a decision's reason, an export's or the
   scorecard's region or a photo id answered 500 (PostgreSQL text cannot hold it). Now refused before any query
   (auditapp/api/auth.py): a 404 in a path, a 422 naming the field in a query or a JSON body.
"""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from auditapp.api.openapi import openapi_document
from auditapp.formutil import MAX_ID

PREFIX = "/api/v1"
UNICODE_DIGITS = ["²", "٣", "１", "1²"]  # superscript two, Arabic-Indic three, fullwidth one


@pytest.fixture
def world(make):
    org = make.org()
    manager = make.user(org, "manager")
    location = make.location(org)
    journey = make.journey(org)
    return {"org": org, "journey": journey, "location": location,
            "auth": {"Authorization": f"Bearer {make.token(manager)}"}}


def _fields(response) -> set[str]:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return {error["field"] for error in response.get_json().get("errors", [])}


# --- 1. Unicode digits --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
@pytest.mark.parametrize("field", ["journey_id", "location_id", "limit"])
def test_unicode_digits_in_evaluation_list_filters_are_a_422_naming_the_field(client, world, digit, field):
    response = client.get(f"{PREFIX}/evaluations", query_string={field: digit}, headers=world["auth"])
    assert response.status_code == 422
    assert _fields(response) == {field}


@pytest.mark.parametrize("path", ["/scorecard", "/scorecard.xlsx"])
@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_in_scorecard_ids_are_a_422_naming_the_field(client, world, path, digit):
    response = client.get(PREFIX + path, query_string={"journey_id": digit}, headers=world["auth"])
    assert response.status_code == 422
    assert _fields(response) == {"journey_id"}
    response = client.get(PREFIX + path, query_string={"journey_id": world["journey"].id, "location_id": digit},
                          headers=world["auth"])
    assert response.status_code == 422
    assert _fields(response) == {"location_id"}


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_as_ids_of_a_submitted_evaluation_are_a_422_and_nothing_is_stored(client, world, digit):
    body = {"client_uuid": "fuzz-unicode-1", "journey_id": digit, "location_id": str(world["location"].id),
            "started_at": "2024-01-01T10:00:00Z", "answers": []}
    response = client.post(f"{PREFIX}/evaluations", json=body, headers=world["auth"])
    assert response.status_code == 422
    assert "journey_id" in _fields(response)
    listed = client.get(f"{PREFIX}/evaluations", headers=world["auth"]).get_json()
    assert listed["items"] == []


def test_a_unicode_digit_in_a_page_query_is_ignored_like_any_other_non_number(client, auth, make, world):
    manager = make.user(world["org"], "manager")
    auth.login(manager.email)
    response = client.get("/visits/review", query_string={"location": "²", "journey": "٣", "evaluator": "１", "page": "²"})
    assert response.status_code == 200


# --- 2. Allow on 405 ----------------------------------------------------------------------------------------------


def test_a_405_from_the_api_says_which_methods_are_allowed(client, world):
    response = client.put(f"{PREFIX}/journeys", headers=world["auth"])
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    response = client.open(f"{PREFIX}/evaluations", method="TRACE", headers=world["auth"])
    assert response.status_code == 405
    assert {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_a_405_page_says_which_methods_are_allowed_too(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"] and "GET" in response.headers["Allow"]


# --- 3. POST /exports JSON types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("to", {}), ("from", []), ("region", 7), ("status", True), ("source", 1.5), ("period", ["30d"]), ("grain", {}),
    ("journey_id", "1"), ("journey_id", True), ("location_id", 2.5), ("per_location", "yes"),
])
def test_an_export_field_of_the_wrong_json_type_is_a_422_naming_it(client, world, field, value):
    body = {"kind": "scorecard", "journey_id": world["journey"].id, "period": "30d", field: value}
    response = client.post(f"{PREFIX}/exports", json=body, headers=world["auth"])
    assert response.status_code == 422
    assert _fields(response) == {field}
    assert "must be" in response.get_json()["errors"][0]["message"]


def test_null_export_fields_are_the_same_as_leaving_them_out(client, world):
    body = {"kind": "responses", "journey_id": world["journey"].id, "location_id": None, "region": None, "from": None,
            "to": None, "source": None, "status": None, "period": None, "per_location": None, "grain": None}
    response = client.post(f"{PREFIX}/exports", json=body, headers=world["auth"])
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] in ("queued", "running", "done")


# --- 4. what the document says --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def _validator(document, schema_name: str) -> Draft202012Validator:
    registry = Registry().with_resource("urn:doc", Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:doc#/components/schemas/{schema_name}"}, registry=registry)


def test_empty_query_values_are_documented_and_read_as_not_given(client, world, document):
    for path in ("/evaluations", "/scorecard", "/scorecard.xlsx"):
        for parameter in document["paths"][path]["get"]["parameters"]:
            assert bool(parameter.get("allowEmptyValue")) is not parameter["required"], (path, parameter["name"])
    empty = {"location_id": "", "from": "", "to": "", "source": ""}
    response = client.get(f"{PREFIX}/evaluations", query_string={**empty, "limit": "", "after": "", "journey_id": ""},
                          headers=world["auth"])
    assert response.status_code == 200
    response = client.get(f"{PREFIX}/scorecard", query_string={**empty, "journey_id": world["journey"].id, "region": "",
                                                               "status": "", "period": ""}, headers=world["auth"])
    assert response.status_code == 200
    assert response.get_json()["source"] == "shopper"  # the default, as when it is left out


def test_query_ids_are_bounded_as_the_api_reads_them(client, world, document):
    schema = document["paths"]["/evaluations"]["get"]["parameters"][0]["schema"]
    assert schema["maximum"] == MAX_ID
    for too_large in (str(MAX_ID + 1), str(10**18)):
        response = client.get(f"{PREFIX}/evaluations", query_string={"journey_id": too_large}, headers=world["auth"])
        assert response.status_code == 422 and _fields(response) == {"journey_id"}
    response = client.get(f"{PREFIX}/evaluations", query_string={"journey_id": str(MAX_ID)}, headers=world["auth"])
    assert response.status_code == 404  # a well-formed id that is not there


# --- 6. ids larger than an INTEGER column (a 500 on PostgreSQL only) ------------------------------------------------

BEYOND = [MAX_ID + 1, 999_999_999_999_999_998, 2**63 - 2]


@pytest.mark.parametrize("big", BEYOND)
def test_path_ids_beyond_an_integer_column_are_404_not_500(client, world, big):
    for method, path in (("get", f"/evaluations/{big}"), ("get", f"/evaluations/{big}/report.pdf"),
                         ("get", f"/exports/{big}"), ("get", f"/exports/{big}/file"),
                         ("post", f"/disputes/{big}/decision"), ("post", f"/evaluations/{big}/disputes")):
        response = getattr(client, method)(PREFIX + path, json={"decision": "declined", "reason": "x"},
                                           headers=world["auth"])
        assert response.status_code == 404, (path, response.status_code)
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("big", BEYOND)
def test_query_and_body_ids_beyond_an_integer_column_are_a_422_naming_the_field(client, world, big):
    auth = world["auth"]
    response = client.get(f"{PREFIX}/evaluations", query_string={"location_id": big}, headers=auth)
    assert response.status_code == 422 and _fields(response) == {"location_id"}
    for path in ("/scorecard", "/scorecard.xlsx"):
        response = client.get(PREFIX + path, query_string={"journey_id": world["journey"].id, "location_id": big},
                              headers=auth)
        assert response.status_code == 422 and _fields(response) == {"location_id"}
    response = client.post(f"{PREFIX}/exports", json={"kind": "scorecard", "journey_id": 1, "location_id": big},
                           headers=auth)
    assert response.status_code == 422 and "location_id" in _fields(response)
    for field in ("journey_id", "location_id", "assignment_id"):
        body = {"client_uuid": "fuzz-big-id-1", "journey_id": world["journey"].id, "location_id": world["location"].id,
                "started_at": "2024-01-01T10:00:00Z", "answers": [], field: big}
        response = client.post(f"{PREFIX}/evaluations", json=body, headers=auth)
        assert response.status_code == 422 and field in _fields(response)


def test_a_forged_cursor_with_a_huge_id_is_a_422(client, world):
    import base64
    import json

    raw = json.dumps(["2024-01-01T00:00:00", 2**40]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get(f"{PREFIX}/evaluations", query_string={"after": cursor}, headers=world["auth"])
    assert response.status_code == 422 and _fields(response) == {"after"}


@pytest.mark.parametrize("big", [MAX_ID + 1, 10**17])
def test_page_ids_beyond_an_integer_column_are_not_a_server_error(client, auth, make, world, big):
    manager = make.user(world["org"], "manager")
    auth.login(manager.email)
    assert client.get("/visits/review", query_string={"location": big, "journey": big}).status_code == 200
    assert client.get(f"/visits/review/{big}").status_code == 404


def test_the_decision_schema_says_what_each_decision_needs(document):
    validator = _validator(document, "DisputeDecisionIn")
    assert not validator.is_valid({"decision": "accepted"})  # the API answers 422 `value`
    assert not validator.is_valid({"decision": "declined"})  # 422 `reason`
    assert not validator.is_valid({"decision": "declined", "reason": "   "})
    assert validator.is_valid({"decision": "declined", "reason": "The photo shows it"})
    assert validator.is_valid({"decision": "accepted", "value": "yes"})
    assert not _validator(document, "DisputeIn").is_valid({"moment": "m", "question": "q", "reason": "  "})


# --- 5. links -----------------------------------------------------------------------------------------------------


def test_the_documented_links_lead_to_real_operations_and_parameters(document):
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    found = []
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    target = operations[link["operationId"]]
                    names = {p["name"] for p in target.get("parameters", [])}
                    assert set(link["parameters"]) <= names, (operation["operationId"], name)
                    assert all(v.startswith("$response.body#/") for v in link["parameters"].values())
                    found.append((operation["operationId"], status, link["operationId"]))
    for expected in [("submitEvaluation", "201", "getEvaluation"), ("startExport", "202", "getExport"),
                     ("openDispute", "201", "decideDispute"), ("uploadPhoto", "201", "getPhoto")]:
        assert expected in found


# --- 7. NUL characters (a 500 on PostgreSQL only: its text cannot hold U+0000) --------------------------------------

N = "a\x00b"


@pytest.fixture
def dispute_world(make, world):
    """An approved shopper visit at a location manager's place, with one open dispute."""
    from auditapp.disputes.services import open_dispute
    from auditapp.extensions import db
    from auditapp.visits.review import approve

    org, location = world["org"], world["location"]
    site = make.user(org, "location_manager", places=[location])
    admin = make.user(org, "admin")
    evaluation = make.evaluation(org, world["journey"], location, make.user(org, "shopper"),
                                 answers={"order.clean": "no"})
    approve(evaluation, admin)
    dispute = open_dispute(evaluation, site, "location_manager", moment_key="order", question_key="clean",
                           reason="It was clean")
    db.session.commit()
    return {**world, "evaluation": evaluation, "dispute": dispute,
            "site": {"Authorization": f"Bearer {make.token(site)}"},
            "admin": {"Authorization": f"Bearer {make.token(admin)}"}}


@pytest.mark.parametrize(("who", "path", "body", "field"), [
    ("site", "/evaluations/{evaluation}/disputes", {"moment": N, "question": "greeted", "reason": "r"}, "moment"),
    ("site", "/evaluations/{evaluation}/disputes", {"moment": "greeting", "question": "greeted", "reason": N}, "reason"),
    ("admin", "/disputes/{dispute}/decision", {"decision": "declined", "reason": N}, "reason"),
    ("admin", "/disputes/{dispute}/decision", {"decision": "accepted", "value": N}, "value"),
    ("admin", "/exports", {"kind": "scorecard", "journey_id": 1, "region": N}, "region"),
    ("admin", "/webhooks", {"url": "https://example.com/hook", "events": [N]}, "events.0"),
    ("auth", "/evaluations", {"client_uuid": "nul-test-01", "journey_id": 1, "location_id": 1,
                              "started_at": "2024-01-01T10:00:00Z", "notes": N, "answers": []}, "notes"),
    ("auth", "/evaluations", {"client_uuid": "nul-test-02", "journey_id": 1, "location_id": 1,
                              "started_at": "2024-01-01T10:00:00Z", "answers": [{"moment": "greeting", "question": "greeted",
                                                                                 "value": "yes", "note": N}]},
     "answers.0.note"),
    ("auth", "/evaluations", {"client_uuid": "nul-test-03", "journey_id": 1, "location_id": 1,
                              "started_at": "2024-01-01T10:00:00Z", "answers": [], "moment_notes": {N: "x"}}, "moment_notes"),
])
def test_a_nul_character_in_a_body_is_a_422_naming_the_field_and_nothing_changes(client, dispute_world, who, path,
                                                                                  body, field):
    from auditapp.disputes.models import Dispute
    from auditapp.extensions import db

    url = PREFIX + path.format(evaluation=dispute_world["evaluation"].id, dispute=dispute_world["dispute"].id)
    response = client.post(url, json=body, headers=dispute_world[who])
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": field, "message": "Must not contain the NUL character (U+0000)"}]
    db.session.expire_all()
    assert [d.status for d in db.session.query(Dispute)] == ["open"]


@pytest.mark.parametrize("query", [{"region": N}, {"source": N}, {N: "1"}])
def test_a_nul_character_in_a_query_is_a_422(client, world, query):
    response = client.get(f"{PREFIX}/scorecard", query_string={"journey_id": world["journey"].id, **query},
                          headers=world["auth"])
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"] == "Must not contain the NUL character (U+0000)"


def test_a_nul_character_in_a_path_names_nothing(client, world):
    response = client.get(f"{PREFIX}/photos/a%00b", headers=world["auth"])
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_nul_character_still_needs_a_token_first(client):
    assert client.post(f"{PREFIX}/exports", json={"region": N}).status_code == 401
