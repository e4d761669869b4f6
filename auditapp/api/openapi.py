"""GET /api/v1/openapi.json: the OpenAPI 3.1 description of the JSON API (contract section 4).

The document is a plain dict built by `openapi_document()`. Schemas sit together in `_schemas()`, paths in
`_paths()`. Paths are relative to the server URL `/api/v1`. tests/app/test_openapi.py checks that the document
validates, that real responses match these schemas and that every route under /api/v1 is described here.
"""
from __future__ import annotations

from flask import jsonify

from ..formutil import MAX_ID
from ..journeys.spec import CHANNELS, KINDS, QUESTION_TYPES
from . import bp

API_VERSION = "1.0.0"
SOURCES = ["shopper", "staff"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    """JSON Schema 2020-12 (OpenAPI 3.1) spells "or null" as a type list, or oneOf for a $ref."""
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    kind = schema["type"]
    return {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}


def _object(properties: dict, required: list[str] | None = None, *, description: str = "", extra: bool = True) -> dict:
    schema: dict = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    if description:
        schema["description"] = description
    if not extra:
        schema["additionalProperties"] = False
    return schema


SCORE = {"type": "number", "minimum": 0, "maximum": 100, "description": "0 to 100, unrounded"}


def _schemas() -> dict:
    # Imported here: the limits live with the service that enforces them, and this keeps import order free.
    from ..disputes.services import MAX_REASON
    from ..evaluations.models import STATUSES
    from ..evaluations.services import MAX_ANSWER_NOTE, MAX_DURATION, MAX_MOMENT_NOTE, MAX_NOTES

    return {
        "Problem": _object({
            "type": {"type": "string"},
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": _ref("FieldError"),
                       "description": "422 only: every field that failed, with what is wrong"},
        }, ["status", "title", "detail"], description="RFC 9457 problem details (application/problem+json)."),
        "FieldError": _object({
            "field": {"type": "string", "description": "e.g. `location_id` or `answers.<moment>.<question>`"},
            "message": {"type": "string"},
        }, ["field", "message"]),

        "Question": _object({
            "key": {"type": "string", "pattern": "^[a-z0-9_]+$"},
            "text": {"type": "string"},
            "type": {"type": "string", "enum": list(QUESTION_TYPES)},
            "required": {"type": "boolean"},
            "weight": {"type": "number", "minimum": 0},
            "critical": {"type": "boolean"},
            "options": _nullable({"type": "string", "examples": ["Quick=1|Slow=0|Did not notice"],
                                  "description": "choice questions: `Label=score|Label=score` as in the workbook "
                                                 "(a label without `=score` is unscored); null otherwise"}),
            "choices": _nullable({"type": "array", "items": _ref("Choice"),
                                  "description": "the same options as a list (choice questions only)"}),
            "target": _nullable({"type": "string", "description": "`<=N` or `>=N` (number questions)"}),
            "help": {"type": "string"},
        }, ["key", "text", "type", "required", "weight", "critical", "options", "target"]),
        "Choice": _object({
            "label": {"type": "string", "description": "the value to send as the answer"},
            "score": _nullable({"type": "number", "minimum": 0, "maximum": 1, "description": "null: unscored"}),
        }, ["label", "score"]),
        "Moment": _object({
            "id": {"type": "integer"},
            "key": {"type": "string", "pattern": "^[a-z0-9_]+$"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "position": {"type": "integer", "minimum": 0},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "kind": _nullable({"type": "string", "enum": [*KINDS, None]}),
            "priority": {"type": "boolean"},
            "weight": {"type": "number", "minimum": 0},
            "expected_seconds": _nullable({"type": "integer"}),
            "questions": {"type": "array", "items": _ref("Question")},
        }, ["id", "key", "name", "position", "channel", "kind", "priority", "weight", "expected_seconds", "questions"],
            description="A moment of truth: one step of the journey's timeline, with its checklist."),
        "Journey": _object({
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "version": {"type": "integer", "description": "number of the published version described"},
            "moments": {"type": "array", "items": _ref("Moment")},
        }, ["id", "name", "description", "moments"], description="A journey in its current published version."),
        "Location": _object({
            "id": {"type": "integer"},
            "code": {"type": "string"},
            "name": {"type": "string"},
            "region": {"type": "string"},
        }, ["id", "code", "name", "region"]),

        "AnswerIn": _object({
            "moment": {"type": "string", "description": "moment key"},
            "question": {"type": "string", "description": "question key"},
            "value": {
                "description": "yes/no/na; miserable/neutral/magical; an integer 1..5; a number; a choice label; "
                               "text; or a photo id from POST /photos. `na` is allowed for any question but a verdict. "
                               "null or empty: unanswered.",
                "type": ["string", "number", "boolean", "null"],
            },
            "note": _nullable({"type": "string", "maxLength": MAX_ANSWER_NOTE}),
        }, ["moment", "question"], extra=False),
        "EvaluationIn": _object({
            "client_uuid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$",
                            "description": "Made by the client once per evaluation; a replay with the same content "
                                           "returns the stored evaluation (200), with other content 409."},
            "journey_id": {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID},
            "location_id": {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID},
            "source": {"type": "string", "enum": SOURCES},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": _nullable({"type": "string", "format": "date-time"}),
            "notes": _nullable({"type": "string", "maxLength": MAX_NOTES}),
            "language": _nullable({"type": "string", "maxLength": 16,
                                   "description": "the language the form was shown in: one of the journey's languages "
                                                  "(its texts only; scores do not depend on it)"}),
            "answers": {"type": "array", "items": _ref("AnswerIn")},
            "durations": {"type": "object", "additionalProperties": _nullable({"type": "number", "minimum": 0,
                                                                                "maximum": MAX_DURATION}),
                          "description": "seconds spent per moment key (optional)"},
            "moment_notes": {"type": "object", "additionalProperties": _nullable({"type": "string", "maxLength": MAX_MOMENT_NOTE}),
                             "description": "a free note per moment key (optional)"},
            "assignment_id": _nullable({"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID,
                                        "description": "the planned visit this evaluation fulfils"}),
            "base_revision": _nullable({"type": "integer", "description": "for a fix of a returned evaluation: the "
                                        "revision it was made from; a stale fix gets 409"}),
        }, ["client_uuid", "journey_id", "location_id", "started_at", "answers"], extra=False,
            description="`source` defaults to the token user's role for shoppers and staff. Times are ISO 8601; "
                        "without an offset they are UTC; not before 2000 and not in the future."),
        "MomentResult": _object({
            "key": {"type": "string"},
            "score": _nullable(SCORE),
            "critical_fail": {"type": "boolean", "description": "a critical question scored 0: the moment scores 0"},
            "verdict": _nullable({"type": "string", "enum": ["miserable", "neutral", "magical", None]}),
            "duration_seconds": _nullable({"type": "number", "minimum": 0}),
            "note": {"type": "string"},
        }, ["key", "score", "critical_fail"]),
        "Answer": _object({
            "moment": {"type": "string"},
            "question": {"type": "string"},
            "value": {"type": ["string", "number", "null"],
                      "description": "canonical: yes/no/na, the verdict word, the choice label, a number, text or "
                                     "a photo id; null when only a note was given"},
            "note": {"type": "string"},
            "score": _nullable({"type": "number", "minimum": 0, "maximum": 1}),
        }, ["moment", "question", "value", "note"]),
        "Evaluation": _object({
            "id": {"type": "integer"},
            "client_uuid": {"type": "string"},
            "journey_id": {"type": "integer"},
            "location_id": {"type": "integer"},
            "source": {"type": "string", "enum": SOURCES},
            "status": {"type": "string", "enum": list(STATUSES)},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": _nullable({"type": "string", "format": "date-time"}),
            "submitted_at": {"type": "string", "format": "date-time"},
            "notes": {"type": "string"},
            "language": _nullable({"type": "string", "description": "the language the form was shown in, if known"}),
            "score": _nullable(SCORE),
            "remembered_score": _nullable({**SCORE, "description": "peak-end: mean of the first, worst and last moment"}),
            "version": _nullable({"type": "integer", "description": "the journey version answered"}),
            "revision": {"type": "integer", "minimum": 1, "description": "2 and up after resubmissions"},
            "assignment_id": _nullable({"type": "integer"}),
            "resubmitted": {"type": "boolean", "description": "POST only: a returned evaluation was fixed in place"},
            "moments": {"type": "array", "items": _ref("MomentResult"), "description": "in timeline order"},
            "answers": {"type": "array", "items": _ref("Answer"), "description": "GET only, in display order"},
        }, ["id", "client_uuid", "journey_id", "location_id", "source", "status", "started_at", "score", "moments"],
            description="A stored evaluation and its scores (unrounded, 0 to 100)."),
        "EvaluationPage": _object({
            "items": {"type": "array", "items": {"allOf": [_ref("Evaluation"), {"required": ["answers"]}]}},
            "next": _nullable({"type": "string", "format": "uri",
                               "description": "URL of the following page (same filters); null on the last page"}),
        }, ["items", "next"]),

        "ScorecardMoment": _object({
            "key": {"type": "string"},
            "name": {"type": "string"},
            "position": {"type": "integer"},
            "n": {"type": "integer", "minimum": 0, "description": "evaluations that gave this moment a score"},
            "score": _nullable({**SCORE, "description": "mean of the per-evaluation moment scores, unrounded"}),
            "magical": {"type": "integer", "minimum": 0, "description": "verdict answers"},
            "neutral": {"type": "integer", "minimum": 0},
            "miserable": {"type": "integer", "minimum": 0},
            "critical_fails": {"type": "integer", "minimum": 0, "description": "evaluations where it was a critical fail"},
            "low": _nullable({**SCORE, "description": "95% interval of the score, low end"}),
            "high": _nullable({**SCORE, "description": "95% interval of the score, high end"}),
            "priority": {"type": "boolean"},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "kind": _nullable({"type": "string", "enum": [*KINDS, None]}),
            "retired": {"type": "boolean", "description": "only in earlier versions of the journey"},
            "mean_duration": _nullable({"type": "number", "minimum": 0, "description": "seconds"}),
            "expected_seconds": _nullable({"type": "integer"}),
            "previous_n": {"type": "integer", "minimum": 0, "description": "n in the comparison's previous window"},
            "previous_score": _nullable(SCORE),
            "change": _nullable({"type": "number", "description": "score minus previous_score, in points"}),
            "warning": {"type": "boolean", "description": "the score changed enough to be a warning signal"},
            "warning_reason": {"type": "string"},
        }, ["key", "name", "position", "n", "score", "magical", "neutral", "miserable", "critical_fails"]),
        "Scorecard": _object({
            "journey_id": {"type": "integer"},
            "evaluations": {"type": "integer", "minimum": 0, "description": "counted (not rejected) evaluations"},
            "score": _nullable({**SCORE, "description": "mean of the evaluation scores, unrounded"}),
            "moments": {"type": "array", "items": _ref("ScorecardMoment"), "description": "in timeline order"},
            "journey_name": {"type": "string"},
            "from": _nullable({"type": "string", "format": "date"}),
            "to": _nullable({"type": "string", "format": "date"}),
            "scored_evaluations": {"type": "integer", "minimum": 0},
            "low": _nullable(SCORE),
            "high": _nullable(SCORE),
            "remembered_score": _nullable({**SCORE, "description": "peak-end: first, worst and last moment"}),
            "comparison": _object({
                "current_from": _nullable({"type": "string", "format": "date"}),
                "current_to": _nullable({"type": "string", "format": "date"}),
                "previous_from": _nullable({"type": "string", "format": "date"}),
                "previous_to": _nullable({"type": "string", "format": "date"}),
            }, description="the windows compared for `change` and `warning`"),
            "weakest_priority_moment": _nullable({"type": "string", "description": "key of the lowest scored priority moment"}),
            "source": {"type": "string", "enum": [*SOURCES, "all"], "description": "whose evaluations these are"},
            "status": {"type": "string", "enum": ["counted", "approved"], "description": "which evaluations count"},
        }, ["journey_id", "evaluations", "score", "moments"]),

        "Photo": _object({
            "id": {"type": "string", "description": "the value a photo question's answer carries"},
            "width": {"type": "integer", "minimum": 1, "description": "of the stored copy (re-encoded JPEG)"},
            "height": {"type": "integer", "minimum": 1},
        }, ["id", "width", "height"]),
        "ExportJob": {"type": "object", "required": ["id", "status", "progress"], "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["scorecard", "responses"]},
            "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "rows_done": {"type": "integer"}, "rows_total": {"type": "integer"},
            "error": {"type": ["string", "null"], "description": "why it failed, in plain words"},
            "download_url": {"type": ["string", "null"]}, "expires_at": {"type": ["string", "null"]}}},
        "DisputeIn": _object({
            "moment": {"type": "string", "description": "the moment's key, e.g. `order`"},
            "question": {"type": "string", "description": "the question's key in that moment, e.g. `clean`"},
            "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON, "pattern": "\\S",
                       "description": "what is wrong with the answer (required; not only spaces)"},
        }, ["moment", "question", "reason"], extra=False),
        "DisputeDecisionIn": _object({
            "decision": {"type": "string", "enum": ["accepted", "declined"]},
            "reason": {"type": "string", "maxLength": MAX_REASON, "description": "required when declined"},
            "value": {"type": ["string", "number", "boolean", "null"],
                      "description": "accepted only: the corrected answer in the question's own form (as in "
                                     "EvaluationIn), or `na` to mark it N/A"},
        }, ["decision"], extra=False) | {"allOf": [
            {"if": {"properties": {"decision": {"const": "declined"}}},
             "then": {"required": ["reason"], "properties": {"reason": {"minLength": 1, "pattern": "\\S"}}}},
            {"if": {"properties": {"decision": {"const": "accepted"}}},
             "then": {"required": ["value"], "properties": {"value": {"type": ["string", "number", "boolean"]}}}},
        ], "description": "Declining needs a reason; accepting needs the corrected `value`."},
        "Dispute": _object({
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["open", "accepted", "declined"]},
            "evaluation_id": {"type": "integer"},
            "moment": {"type": "string"},
            "question": {"type": "string"},
            "reason": {"type": "string"},
            "value_before": _nullable({"type": "string", "description": "the answer when the dispute was opened"}),
            "value_after": _nullable({"type": "string", "description": "the answer an accepted dispute set"}),
            "decision_reason": {"type": "string"},
            "evidence": _nullable({"type": "string", "enum": ["photo", "pdf", None],
                                   "description": "evidence sent with it on the web page"}),
            "opened_at": {"type": "string", "format": "date-time"},
            "decided_at": _nullable({"type": "string", "format": "date-time"}),
            "evaluation_score": _nullable(SCORE),
        }, ["id", "status", "evaluation_id", "moment", "question", "reason", "opened_at"]),
    }


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _json(schema: dict, description: str, links: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if links:
        response["links"] = links
    return response


def _link(operation_id: str, description: str, **parameters: str) -> dict:
    """An OpenAPI link: what a client (or Schemathesis' stateful phase) can call next with this answer's values."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


EVALUATION_LINKS = {
    "GetEvaluation": _link("getEvaluation", "the evaluation just stored, with its answers",
                           evaluation_id="$response.body#/id"),
    "GetEvaluationReport": _link("getEvaluationReport", "its visit report", evaluation_id="$response.body#/id"),
    "OpenDispute": _link("openDispute", "dispute one of its answers (once approved)", evaluation_id="$response.body#/id"),
}
FIRST_ITEM_LINKS = {
    "GetEvaluation": _link("getEvaluation", "the first evaluation of the page", evaluation_id="$response.body#/items/0/id"),
    "GetEvaluationReport": _link("getEvaluationReport", "its visit report", evaluation_id="$response.body#/items/0/id"),
    "OpenDispute": _link("openDispute", "dispute one of its answers", evaluation_id="$response.body#/items/0/id"),
}


RESPONSES = {
    "BadRequest": _problem("The body is not JSON"),
    "Unauthorized": _problem("Missing, wrong or revoked token"),
    "Forbidden": _problem("The token's user may not do this (role)"),
    "NotFound": _problem("No such object in this organisation (another organisation's objects are 404 too)"),
    "Conflict": _problem("The same client_uuid was sent before with different content; nothing changed"),
    "TooLarge": _problem("The request body is over the size limit (MAX_CONTENT_LENGTH, 16 MB by default)"),
    "Invalid": _problem("Validation failed; `errors` lists every field and what is wrong; nothing stored"),
}


def _r(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _query(name: str, schema: dict, description: str) -> dict:
    """An optional query parameter. An empty value (`?from=`) is the same as leaving it out, as a web form sends it."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description,
            "allowEmptyValue": True}


# Ids are INTEGER columns (auditapp.formutil.MAX_ID): a larger one in a query or a body is a 422, in a path a 404.
QUERY_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
PATH_ID = QUERY_ID


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": PATH_ID}


FILTERS = [
    _query("journey_id", QUERY_ID, "only this journey"),
    _query("location_id", QUERY_ID, "only this location"),
    _query("from", {"type": "string", "format": "date"}, "visits started on or after this day (organisation's time zone)"),
    _query("to", {"type": "string", "format": "date"}, "visits started on or before this day (inclusive)"),
    _query("source", {"type": "string", "enum": SOURCES}, "shopper or staff evaluations only"),
]
PERIODS = ["30d", "90d", "365d", "this_month", "last_month", "all", "custom"]
SCORECARD_FILTERS = [
    {**{k: v for k, v in FILTERS[0].items() if k != "allowEmptyValue"}, "required": True,
     "description": "the journey (required)"},
    *FILTERS[1:4],
    _query("source", {"type": "string", "enum": [*SOURCES, "all"], "default": "shopper"},
           "whose opinion: secret shoppers (the default), staff self-assessments, or all (both mixed)"),
    _query("status", {"type": "string", "enum": ["counted", "approved"], "default": "counted"},
           "counted: every evaluation that counts (approved, waiting for review, returned; the default); "
           "approved: reviewed and approved only. Rejected evaluations never count"),
    _query("region", {"type": "string"}, "only the locations of this region"),
    _query("period", {"type": "string", "enum": PERIODS}, "a preset period instead of from/to"),
]


def _paths() -> dict:
    return {
        "/openapi.json": {"get": {
            "operationId": "getOpenApi", "tags": ["meta"], "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
        "/journeys": {"get": {
            "operationId": "listJourneys", "tags": ["capture"],
            "summary": "Published journeys of the organisation, each in its current version, with moments and questions",
            "responses": {"200": _json({"type": "array", "items": _ref("Journey")}, "Journeys"), "401": _r("Unauthorized")},
        }},
        "/locations": {"get": {
            "operationId": "listLocations", "tags": ["capture"], "summary": "Locations of the organisation",
            "responses": {"200": _json({"type": "array", "items": _ref("Location")}, "Locations"), "401": _r("Unauthorized")},
        }},
        "/evaluations": {
            "post": {
                "operationId": "submitEvaluation", "tags": ["capture"],
                "summary": "Submit an evaluation; safe to retry with the same client_uuid",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EvaluationIn")}}},
                "responses": {
                    "201": _json(_ref("Evaluation"), "Stored for the first time (Location: its URL)", EVALUATION_LINKS),
                    "200": _json(_ref("Evaluation"), "A replay of the same content: the evaluation stored before",
                                 EVALUATION_LINKS),
                    "400": _r("BadRequest"), "401": _r("Unauthorized"), "403": _r("Forbidden"),
                    "404": _problem("No such journey or location in this organisation (`errors` names the field)"),
                    "409": _r("Conflict"), "413": _r("TooLarge"), "422": _r("Invalid"),
                },
            },
            "get": {
                "operationId": "listEvaluations", "tags": ["results"],
                "summary": "Evaluations with their answers, oldest first; follow `next` until it is null",
                "description": "Managers see every evaluation of the organisation, shoppers their own, staff those of "
                               "their location.",
                "parameters": [*FILTERS,
                               _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                                      "items per page"),
                               _query("after", {"type": "string"}, "cursor: set by the `next` link, do not build it")],
                "responses": {"200": _json(_ref("EvaluationPage"), "One page", FIRST_ITEM_LINKS), "401": _r("Unauthorized"),
                              "403": _r("Forbidden"), "404": _r("NotFound"), "422": _r("Invalid")},
            },
        },
        "/evaluations/{evaluation_id}": {"get": {
            "operationId": "getEvaluation", "tags": ["results"], "summary": "One evaluation with its answers",
            "parameters": [_path_id("evaluation_id")],
            "responses": {"200": _json(_ref("Evaluation"), "The evaluation"), "401": _r("Unauthorized"),
                          "403": _r("Forbidden"), "404": _r("NotFound")},
        }},
        "/evaluations/{evaluation_id}/report.pdf": {"get": {
            "operationId": "getEvaluationReport", "tags": ["results"],
            "summary": "The visit report as a PDF: location, journey, time, overall score and band, then every moment "
                       "with its answers, notes, photos, timings and critical fails",
            "description": "Managers and admins get the report of any evaluation of their organisation, a shopper of "
                           "their own evaluations; staff get 403. The shopper is named by a code or a first name "
                           "(an organisation setting), never by e-mail or full name. Sent inline, with a file name "
                           "like `visit-<id>-<location code>-<date>.pdf`.",
            "parameters": [_path_id("evaluation_id")],
            "responses": {
                "200": {"description": "The PDF", "content": {PDF: {"schema": {"type": "string", "contentMediaType": PDF}}}},
                "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound"),
                "503": _problem("PDF reports cannot be made on this server (WeasyPrint or the Pango library is "
                                "missing); the detail says what to install"),
            },
        }},
        "/evaluations/{evaluation_id}/disputes": {"post": {
            "operationId": "openDispute", "tags": ["disputes"],
            "summary": "Dispute one answer of an approved secret-shopper visit; location and regional managers only",
            "description": "Within the organisation's dispute window after the visit's approval (7 days by "
                           "default, to the end of that local day). One open dispute per answer. The organisation's "
                           "managers are told by mail. Another site's or organisation's visit, and a visit not "
                           "approved, is 404.",
            "parameters": [_path_id("evaluation_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DisputeIn")}}},
            "responses": {
                "201": _json(_ref("Dispute"), "Opened (Location: its page)", {
                    "DecideDispute": _link("decideDispute", "accept or decline it (managers)", dispute_id="$response.body#/id"),
                    "GetEvaluation": _link("getEvaluation", "the disputed visit", evaluation_id="$response.body#/evaluation_id"),
                }),
                "400": _r("BadRequest"), "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound"),
                "409": _problem("The dispute window is closed, or this answer already has an open dispute; "
                                "`errors` says which"),
                "413": _r("TooLarge"), "422": _r("Invalid"),
            },
        }},
        "/disputes/{dispute_id}/decision": {"post": {
            "operationId": "decideDispute", "tags": ["disputes"],
            "summary": "Accept (the answer becomes `value` and the scores are recomputed) or decline (with a reason) "
                       "an open dispute; managers and admins only",
            "description": "The visit's history keeps the answer and the scores before and after. The manager who "
                           "opened the dispute is told by mail.",
            "parameters": [_path_id("dispute_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DisputeDecisionIn")}}},
            "responses": {
                "200": _json(_ref("Dispute"), "Decided"),
                "400": _r("BadRequest"), "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound"),
                "409": _problem("The dispute was already decided"), "413": _r("TooLarge"), "422": _r("Invalid"),
            },
        }},
        "/photos": {"post": {
            "operationId": "uploadPhoto", "tags": ["capture"],
            "summary": "Upload a photo (JPEG, PNG, WebP, or HEIC/HEIF from an iPhone); use the returned id as a photo question's value",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _object(
                {"photo": {"type": "string", "contentMediaType": "application/octet-stream"}}, ["photo"])}}},
            "responses": {"201": _json(_ref("Photo"), "Stored (Location: its URL)", {
                "GetPhoto": _link("getPhoto", "the stored copy", public_id="$response.body#/id")}), "401": _r("Unauthorized"),
                          "403": _r("Forbidden"), "413": _r("TooLarge"), "422": _r("Invalid")},
        }},
        "/photos/{public_id}": {"get": {
            "operationId": "getPhoto", "tags": ["capture"],
            "summary": "A photo: to its uploader, and to whoever may see the evaluation that uses it",
            "parameters": [{"name": "public_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The stored JPEG", "content": {"image/jpeg": {
                "schema": {"type": "string", "contentMediaType": "image/jpeg"}}}},
                "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound")},
        }},
        "/scorecard": {"get": {
            "operationId": "getScorecard", "tags": ["results"],
            "summary": "Scores per moment in timeline order (contract section 3 rules); managers only",
            "parameters": SCORECARD_FILTERS,
            "responses": {"200": _json(_ref("Scorecard"), "Scorecard"), "401": _r("Unauthorized"), "403": _r("Forbidden"),
                          "404": _r("NotFound"), "422": _r("Invalid")},
        }},
        "/scorecard.xlsx": {"get": {
            "operationId": "getScorecardWorkbook", "tags": ["results"],
            "summary": "The Excel scorecard: Summary, Locations, Trend, Gap, Responses and Notes sheets; managers only",
            "parameters": [*SCORECARD_FILTERS,
                           _query("per_location", {"type": "string", "enum": ["yes", "no"]}, "a Summary sheet per location"),
                           _query("grain", {"type": "string", "enum": ["month", "week"]}, "periods of the Trend sheet")],
            "responses": {
                "200": {"description": "Workbook", "content": {XLSX: {"schema": {"type": "string", "contentMediaType": XLSX}}}},
                "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound"), "422": _r("Invalid"),
            },
        }},
        "/exports": {"post": {
            "operationId": "startExport", "tags": ["results"],
            "summary": "Start a background export (the scorecard workbook or the responses CSV) for the scorecard filters",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["kind", "journey_id"],
                "properties": {"kind": {"type": "string", "enum": ["scorecard", "responses"]},
                               "journey_id": QUERY_ID, "location_id": _nullable(QUERY_ID),
                               "region": _nullable({"type": "string"}),
                               "from": _nullable({"type": "string", "format": "date"}),
                               "to": _nullable({"type": "string", "format": "date"}),
                               "source": _nullable({"type": "string", "enum": [*SOURCES, "all", None]}),
                               "status": _nullable({"type": "string", "enum": ["counted", "approved", None]}),
                               "period": _nullable({"type": "string", "enum": [*PERIODS, None]}),
                               "per_location": _nullable({"type": "boolean"}),
                               "grain": _nullable({"type": "string", "enum": ["month", "week", None]})},
                "description": "The scorecard's filters as JSON types; null is the same as leaving a field out."}}}},
            "responses": {"202": _json(_ref("ExportJob"), "Queued; Location: /api/v1/exports/{id}", {
                "GetExport": _link("getExport", "its status and progress", job_id="$response.body#/id"),
                "GetExportFile": _link("getExportFile", "the file, once done", job_id="$response.body#/id")}),
                          "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound"),
                          "413": _r("TooLarge"), "422": _r("Invalid")},
        }},
        "/exports/{job_id}": {"get": {
            "operationId": "getExport", "tags": ["results"],
            "summary": "An export job's status and progress; download_url once it is done (the asker's jobs only)",
            "parameters": [_path_id("job_id")],
            "responses": {"200": _json(_ref("ExportJob"), "The job"), "401": _r("Unauthorized"),
                          "403": _r("Forbidden"), "404": _r("NotFound")},
        }},
        "/exports/{job_id}/file": {"get": {
            "operationId": "getExportFile", "tags": ["results"],
            "summary": "The finished file: the same as the synchronous export",
            "parameters": [_path_id("job_id")],
            "responses": {"200": {"description": "The file", "content": {
                XLSX: {"schema": {"type": "string", "contentMediaType": XLSX}},
                "text/csv": {"schema": {"type": "string"}}}},
                "401": _r("Unauthorized"), "403": _r("Forbidden"), "404": _r("NotFound")},
        }},
        "/webhooks": {"post": {
            "operationId": "createWebhook", "tags": ["meta"],
            "summary": "Register a webhook (admins); the signing secret is in this answer only",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["url", "events"],
                "properties": {"url": {"type": "string", "format": "uri"},
                               "events": {"type": "array", "items": {"type": "string", "enum": [
                                   "evaluation.submitted", "evaluation.approved", "evaluation.critical_fail",
                                   "dispute.opened", "dispute.decided", "action.overdue"]}}}}}}},
            "responses": {"201": _json({"type": "object", "required": ["id", "secret"], "properties": {
                "id": {"type": "integer"}, "url": {"type": "string"}, "events": {"type": "array", "items": {"type": "string"}},
                "secret": {"type": "string"}}}, "Registered"),
                "401": _r("Unauthorized"), "403": _r("Forbidden"), "413": _r("TooLarge"), "422": _r("Invalid")},
        }},
    }


def openapi_document() -> dict:
    """The whole document; pure data, no request needed."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "auditapp API",
            "version": API_VERSION,
            "summary": "Moments-of-truth audits: journeys, locations, evaluations and scorecards",
            "description": "A token acts as its user, with that user's role and organisation only. Errors are "
                           "application/problem+json. Scores are unrounded, 0 to 100.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "tags": [{"name": "capture"}, {"name": "results"}, {"name": "disputes"}, {"name": "meta"}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `flask create-token` or the Tokens page"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                                            "description": "The app's own pages (the phone's send queue): the login "
                                                           "session cookie; writes must also send `X-Requested-With`."}},
            "schemas": _schemas(),
            "responses": RESPONSES,
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
