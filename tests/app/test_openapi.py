"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that describes every API route and matches real answers.

Real responses are validated with jsonschema against the documented schema of their operation and status, with one
extra strictness the published document leaves out on purpose (clients should tolerate new fields): every object
property the API sends must be documented (`unevaluatedProperties: false` is added to each documented object).
"""
from __future__ import annotations

import copy
import io
import re
import uuid
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from auditapp.api.openapi import openapi_document
from auditapp.timeutil import utcnow

BASE = "urn:auditapp:openapi"
PREFIX = "/api/v1"


def _strict(node):
    """A copy where every object schema with properties refuses undocumented properties."""
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["unevaluatedProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@pytest.fixture(scope="module")
def document():
    return openapi_document()


@pytest.fixture(scope="module")
def registry(document):
    return Registry().with_resource(BASE, Resource.from_contents(_strict(copy.deepcopy(document)),
                                                                 default_specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_response(document, registry, response, path: str, method: str = "get"):
    """Assert the response's status is documented for the operation, with its content type and schema."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} answered {status}, which is not documented"
    documented = operation["responses"][status]
    pointer = _pointer("paths", path, method, "responses", status)
    if "$ref" in documented:
        pointer = documented["$ref"]
        documented = document["components"]["responses"][pointer.rsplit("/", 1)[1]]
    media_types = documented.get("content", {})
    assert response.mimetype in media_types, f"{response.mimetype} not documented for {status}: {list(media_types)}"
    if response.mimetype.endswith("json"):
        schema = {"$ref": f"{BASE}{pointer}/content/{response.mimetype.replace('/', '~1')}/schema"}
        validator = Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(response.get_json()), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return response


@pytest.fixture
def world(make):
    org = make.org()
    manager = make.user(org, "manager")
    shopper = make.user(org, "shopper")
    return {
        "org": org,
        "manager": manager,
        "shopper": shopper,
        "journey": make.journey(org),
        "location": make.location(org, name="Café <b>Nord</b>"),
        "manager_auth": {"Authorization": f"Bearer {make.token(manager)}"},
        "shopper_auth": {"Authorization": f"Bearer {make.token(shopper)}"},
    }


def evaluation_body(world, **overrides) -> dict:
    started = utcnow() - timedelta(hours=3)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "journey_id": world["journey"].id,
        "location_id": world["location"].id,
        "source": "shopper",
        "started_at": started.isoformat() + "Z",
        "finished_at": (started + timedelta(minutes=25)).isoformat() + "Z",
        "notes": "Quiet morning ☕",
        "answers": [
            {"moment": "greeting", "question": "greeted", "value": "yes"},
            {"moment": "greeting", "question": "smile", "value": 4, "note": "big smile"},
            {"moment": "greeting", "question": "verdict", "value": "magical"},
            {"moment": "order", "question": "wait", "value": 95.5},
            {"moment": "order", "question": "speed", "value": "Did not notice"},
            {"moment": "order", "question": "clean", "value": "no"},
            {"moment": "order", "question": "verdict", "value": "miserable"},
            {"moment": "farewell", "question": "mood", "value": "na"},
            {"moment": "farewell", "question": "comment", "value": "Bye"},
            {"moment": "farewell", "question": "verdict", "value": "neutral"},
        ],
        "durations": {"greeting": 12, "order": 150},
    }
    body.update(overrides)
    return body


# --- the document itself --------------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1_and_served_without_a_token(client, document):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    served = response.get_json()
    assert served["openapi"].startswith("3.1")
    validate_openapi(served)
    assert served == document
    assert served["components"]["securitySchemes"]["bearer"] == {**served["components"]["securitySchemes"]["bearer"],
                                                                   "type": "http", "scheme": "bearer"}
    for name in ("Journey", "Location", "EvaluationIn", "Evaluation", "EvaluationPage", "Scorecard", "Problem"):
        assert name in served["components"]["schemas"]


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(PREFIX))


def test_every_api_route_is_documented_with_each_method(app, document):
    routes = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")]
    assert len(routes) >= 6
    for rule in routes:
        path = _openapi_path(rule.rule)
        assert path in document["paths"], f"{rule.rule} ({rule.endpoint}) is missing from openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {rule.rule} is missing from openapi.json"
    # and nothing documented that does not exist
    existing = {(_openapi_path(r.rule), m.lower()) for r in routes for m in r.methods - {"HEAD", "OPTIONS"}}
    for path, operations in document["paths"].items():
        for method in operations:
            assert (path, method) in existing, f"{method.upper()} {path} is documented but not served"


def test_every_operation_documents_its_errors(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/openapi.json":
                assert operation["security"] == []
                continue
            assert "401" in operation["responses"], f"{method} {path}"
            assert "operationId" in operation
            if method == "post":
                assert {"413", "422"} <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.fresh_app
def test_the_route_check_notices_an_undocumented_route(app, document):
    """The walk above is only worth something if a new route makes it fail."""
    from flask import Blueprint

    extra = Blueprint("extra_api", __name__, url_prefix=f"{PREFIX}/extra")
    extra.add_url_rule("/<int:thing_id>", "thing", lambda thing_id: "")
    app.register_blueprint(extra)
    with pytest.raises(AssertionError, match="extra"):
        test_every_api_route_is_documented_with_each_method(app, document)


# --- real responses against the documented schemas -------------------------------------------------------------------


def test_journeys_and_locations_match(client, document, registry, world):
    response = check_response(document, registry, client.get(f"{PREFIX}/journeys", headers=world["shopper_auth"]),
                              "/journeys")
    journeys = response.get_json()
    assert [j["id"] for j in journeys] == [world["journey"].id]
    speed = next(q for m in journeys[0]["moments"] for q in m["questions"] if q["key"] == "speed")
    assert speed["type"] == "choice" and speed["options"]
    response = check_response(document, registry, client.get(f"{PREFIX}/locations", headers=world["shopper_auth"]),
                              "/locations")
    assert response.get_json()[0]["name"] == "Café <b>Nord</b>"
    check_response(document, registry, client.get(f"{PREFIX}/journeys"), "/journeys")
    check_response(document, registry, client.get(f"{PREFIX}/locations", headers={"Authorization": "Bearer nope"}),
                   "/locations")


def test_evaluation_post_201_200_409_422_404_400_and_401_match(client, document, registry, world):
    auth = world["shopper_auth"]
    body = evaluation_body(world)
    created = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json=body, headers=auth),
                             "/evaluations", "post")
    assert created.status_code == 201
    replay = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json=body, headers=auth),
                            "/evaluations", "post")
    assert replay.status_code == 200 and replay.get_json()["id"] == created.get_json()["id"]
    conflict = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json={**body, "notes": "other"},
                                                              headers=auth), "/evaluations", "post")
    assert conflict.status_code == 409

    invalid = evaluation_body(world, answers=[{"moment": "greeting", "question": "smile", "value": 9}], started_at="soon")
    response = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json=invalid, headers=auth),
                              "/evaluations", "post")
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} >= {"started_at", "answers.greeting.smile"}

    foreign = evaluation_body(world, location_id=world["location"].id + 1000)
    response = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json=foreign, headers=auth),
                              "/evaluations", "post")
    assert response.status_code == 404
    response = check_response(document, registry, client.post(f"{PREFIX}/evaluations", data="{not json", headers={
        **auth, "Content-Type": "application/json"}), "/evaluations", "post")
    assert response.status_code == 400
    response = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json=body), "/evaluations", "post")
    assert response.status_code == 401


def test_evaluation_post_413_matches(app, client, document, registry, world):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    body = evaluation_body(world, notes="x" * 5000)
    response = check_response(document, registry, client.post(f"{PREFIX}/evaluations", json=body,
                                                              headers=world["shopper_auth"]), "/evaluations", "post")
    assert response.status_code == 413


def test_evaluation_pages_and_one_evaluation_match(client, document, registry, world, make):
    for hours in (5, 4, 3):
        make.evaluation(world["org"], world["journey"], world["location"], world["shopper"],
                        started_at=utcnow() - timedelta(hours=hours),
                        answers={"farewell.comment": ("Fine", "a note"), "order.wait": 30})
    auth = world["manager_auth"]
    url = f"{PREFIX}/evaluations?limit=2&journey_id={world['journey'].id}"
    seen = []
    while url:
        response = check_response(document, registry, client.get(url, headers=auth), "/evaluations")
        assert response.status_code == 200
        page = response.get_json()
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert len(seen) == 3 == len(set(seen))
    response = check_response(document, registry, client.get(f"{PREFIX}/evaluations/{seen[0]}", headers=auth),
                              "/evaluations/{evaluation_id}")
    assert response.get_json()["answers"]
    check_response(document, registry, client.get(f"{PREFIX}/evaluations/{seen[-1] + 999}", headers=auth),
                   "/evaluations/{evaluation_id}")
    response = check_response(document, registry, client.get(f"{PREFIX}/evaluations?limit=0&from=yesterday", headers=auth),
                              "/evaluations")
    assert response.status_code == 422


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_photo_upload_and_download_match(client, document, registry, world):
    auth = world["shopper_auth"]
    response = check_response(document, registry, client.post(
        f"{PREFIX}/photos", data={"photo": (io.BytesIO(_png()), "receipt.png", "image/png")}, headers=auth,
        content_type="multipart/form-data"), "/photos", "post")
    assert response.status_code == 201
    photo_id = response.get_json()["id"]
    response = check_response(document, registry, client.get(f"{PREFIX}/photos/{photo_id}", headers=auth),
                              "/photos/{public_id}")
    assert response.status_code == 200
    response = check_response(document, registry, client.post(
        f"{PREFIX}/photos", data={"photo": (io.BytesIO(b"<svg></svg>"), "x.svg", "image/svg+xml")}, headers=auth,
        content_type="multipart/form-data"), "/photos", "post")
    assert response.status_code == 422


def test_scorecard_and_workbook_match(client, document, registry, world, make):
    for verdict in ("magical", "miserable"):
        make.evaluation(world["org"], world["journey"], world["location"], world["shopper"],
                        answers={"greeting.verdict": verdict, "order.clean": "no"})
    auth = world["manager_auth"]
    journey_id = world["journey"].id
    response = check_response(document, registry, client.get(f"{PREFIX}/scorecard?journey_id={journey_id}", headers=auth),
                              "/scorecard")
    assert response.status_code == 200
    card = response.get_json()
    assert card["evaluations"] == 2
    assert [m["key"] for m in card["moments"]] == ["greeting", "order", "farewell"]
    assert card["moments"][1]["critical_fails"] == 2

    for url, status in ((f"{PREFIX}/scorecard", 422), (f"{PREFIX}/scorecard?journey_id={journey_id}&from=May", 422),
                        (f"{PREFIX}/scorecard?journey_id={journey_id + 999}", 404)):
        response = check_response(document, registry, client.get(url, headers=auth), "/scorecard")
        assert response.status_code == status, url
    response = check_response(document, registry, client.get(f"{PREFIX}/scorecard?journey_id={journey_id}",
                                                              headers=world["shopper_auth"]), "/scorecard")
    assert response.status_code == 403

    response = check_response(document, registry, client.get(f"{PREFIX}/scorecard.xlsx?journey_id={journey_id}",
                                                              headers=auth), "/scorecard.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    response = check_response(document, registry, client.get(f"{PREFIX}/scorecard.xlsx?journey_id={journey_id}&grain=day",
                                                              headers=auth), "/scorecard.xlsx")
    assert response.status_code == 422


def test_visit_report_pdf_matches(client, document, registry, world, make):
    evaluation = make.evaluation(world["org"], world["journey"], world["location"], world["shopper"])
    path = "/evaluations/{evaluation_id}/report.pdf"
    url = f"{PREFIX}/evaluations/{evaluation.id}/report.pdf"
    response = check_response(document, registry, client.get(url, headers=world["manager_auth"]), path)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    response = check_response(document, registry, client.get(url, headers=world["shopper_auth"]), path)
    assert response.status_code == 200
    staff = make.user(world["org"], "staff")
    response = check_response(document, registry, client.get(url, headers={"Authorization": f"Bearer {make.token(staff)}"}),
                              path)
    assert response.status_code == 403
    other = make.user(world["org"], "shopper")
    response = check_response(document, registry, client.get(url, headers={"Authorization": f"Bearer {make.token(other)}"}),
                              path)
    assert response.status_code == 404
    check_response(document, registry, client.get(url), path)


def test_dispute_open_and_decision_match(client, document, registry, world, make):
    from auditapp.extensions import db
    from auditapp.visits.review import approve

    evaluation = make.evaluation(world["org"], world["journey"], world["location"], world["shopper"],
                                 answers={"order.clean": "no"})
    approve(evaluation, world["manager"])
    db.session.commit()
    site = {"Authorization": f"Bearer {make.token(make.user(world['org'], 'location_manager', places=[world['location']]))}"}
    path, url = "/evaluations/{evaluation_id}/disputes", f"{PREFIX}/evaluations/{evaluation.id}/disputes"
    body = {"moment": "order", "question": "clean", "reason": "It was clean"}
    created = check_response(document, registry, client.post(url, json=body, headers=site), path, "post")
    assert created.status_code == 201 and created.get_json()["status"] == "open"
    for payload, status in ((body, 409), ({**body, "question": "nope"}, 422), ({"moment": 1}, 422)):
        response = check_response(document, registry, client.post(url, json=payload, headers=site), path, "post")
        assert response.status_code == status, payload
    for headers, status in ((world["manager_auth"], 403), ({}, 401)):
        assert check_response(document, registry, client.post(url, json=body, headers=headers), path,
                              "post").status_code == status
    check_response(document, registry, client.post(f"{PREFIX}/evaluations/{evaluation.id + 99}/disputes", json=body,
                                                   headers=site), path, "post")

    path, url = "/disputes/{dispute_id}/decision", f"{PREFIX}/disputes/{created.get_json()['id']}/decision"
    manager = world["manager_auth"]
    response = check_response(document, registry, client.post(url, json={"decision": "accepted", "value": "maybe"},
                                                              headers=manager), path, "post")
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "value"
    response = check_response(document, registry, client.post(url, json={"decision": "accepted", "value": "yes"},
                                                              headers=manager), path, "post")
    assert response.status_code == 200 and response.get_json()["value_after"] == "yes"
    for headers, status in ((manager, 409), (site, 403)):
        response = client.post(url, json={"decision": "declined", "reason": "x"}, headers=headers)
        assert check_response(document, registry, response, path, "post").status_code == status
