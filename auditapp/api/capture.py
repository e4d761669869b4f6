"""API endpoints for capturing evaluations (contract section 4): journeys, locations, evaluations, photos.

Authentication happens in auth.py (Bearer token, or the session plus X-Requested-With for writes). Every handler
here reads tenant data through the tenancy helpers or `visible_evaluations`, so another organisation's objects are
404. Errors are application/problem+json.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime

from flask import Response, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from ..auth.models import ROLES
from ..evaluations.models import SOURCES, Answer, Evaluation, Photo
from ..evaluations.services import SubmissionError, evaluation_to_dict, submit_evaluation, visible_evaluations
from ..extensions import db
from ..formutil import MAX_ID, parse_id
from ..journeys.models import Journey, JourneyVersion, Moment
from ..journeys.spec import format_options
from ..locations.models import Location
from ..tenancy import current_org, current_org_id, current_role, place_scope, roles_required, scoped
from ..timeutil import local_day_bounds
from ..web import problem
from . import bp

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
any_member = roles_required(*ROLES)


# --- journeys and locations ------------------------------------------------------------------------------------------


def question_to_dict(question) -> dict:
    choices = [{"label": o.label, "score": o.score} for o in question.option_specs]
    return {
        "key": question.key,
        "text": question.text,
        "type": question.type,
        "required": question.required,
        "weight": question.weight,
        "critical": question.critical,
        "options": format_options(question.option_specs) if question.type == "choice" else None,
        "choices": choices if question.type == "choice" else None,
        "target": question.target,
        "help": question.help or "",
    }


def journey_to_dict(journey: Journey) -> dict:
    version = journey.current_version
    return {
        "id": journey.id,
        "name": journey.name,
        "description": journey.description or "",
        "version": version.number,
        "moments": [
            {"id": m.id, "key": m.key, "name": m.name, "position": m.position, "channel": m.channel, "kind": m.kind,
             "priority": m.priority, "weight": m.weight, "expected_seconds": m.expected_seconds,
             "description": m.description or "", "questions": [question_to_dict(q) for q in m.questions]}
            for m in version.moments
        ],
    }


@bp.get("/journeys")
@any_member
def list_journeys():
    journeys = db.session.scalars(
        scoped(Journey)
        .where(Journey.archived.is_(False), Journey.current_version_id.is_not(None))
        .options(selectinload(Journey.current_version).selectinload(JourneyVersion.moments).selectinload(Moment.questions))
        .order_by(Journey.name, Journey.id)
    )
    return jsonify([journey_to_dict(j) for j in journeys])


@bp.get("/locations")
@any_member
def list_locations():
    query = scoped(Location).where(Location.archived.is_(False)).order_by(Location.name, Location.code)
    scope = place_scope()
    if scope is not None:
        query = query.where(Location.id.in_(sorted(scope.location_ids) or [-1]))
    locations = db.session.scalars(query)
    return jsonify([{"id": loc.id, "code": loc.code, "name": loc.name, "region": loc.region or ""} for loc in locations])


# --- evaluations ------------------------------------------------------------------------------------------------------


@bp.post("/evaluations")
@any_member
def create_evaluation():
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        return problem(400, "Bad Request", "The body must be a JSON object (Content-Type: application/json).")
    try:
        result = submit_evaluation(current_org_id(), current_user, current_role(), payload)
    except SubmissionError as error:
        db.session.rollback()
        return problem(error.status, error.title, error.detail, error.errors or None)
    evaluation = result.evaluation
    # The reply is made before the commit, from the objects as flushed (the commit would expire them and the reply
    # would load them again: four SELECTs per submission) and a new evaluation's moment results as inserted; a
    # failed commit answers 500, never this body.
    body = evaluation_to_dict(evaluation, with_answers=False, moment_rows=result.moment_rows)
    body["resubmitted"] = result.resubmitted
    evaluation_id = evaluation.id
    db.session.commit()
    response = jsonify(body)
    response.headers["Location"] = url_for("api.get_evaluation", evaluation_id=evaluation_id, _external=True)
    response.status_code = 201 if result.created else 200
    return response


def _visible():
    return visible_evaluations(current_org_id(), current_user, current_role())


def _with_details(query):
    return query.options(
        selectinload(Evaluation.answers).selectinload(Answer.question),
        selectinload(Evaluation.moment_results),
        selectinload(Evaluation.version),
    )


@bp.get("/evaluations/<int:evaluation_id>")
@any_member
def get_evaluation(evaluation_id: int):
    evaluation = db.session.scalar(_with_details(_visible().where(Evaluation.id == evaluation_id)))
    if evaluation is None:
        return problem(404, "Not Found", "No such evaluation.")
    return jsonify(evaluation_to_dict(evaluation, with_answers=True))


def encode_cursor(evaluation: Evaluation) -> str:
    raw = json.dumps([evaluation.started_at.isoformat(), evaluation.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int]:
    """Raises ValueError for anything that is not a cursor this API made."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        started, evaluation_id = json.loads(raw)
        if not isinstance(evaluation_id, int) or isinstance(evaluation_id, bool) or not 0 <= evaluation_id <= MAX_ID:
            raise ValueError
        return datetime.fromisoformat(started), evaluation_id
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
        raise ValueError("not a valid cursor") from None


def _list_params(errors: list[dict]) -> dict:
    args = request.args
    params: dict = {"limit": DEFAULT_LIMIT}

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    for name in ("journey_id", "location_id"):
        raw = args.get(name, "").strip()
        if raw:
            if (value := parse_id(raw)) is not None:
                params[name] = value
            else:
                bad(name, "Must be a whole number")
    for name in ("from", "to"):
        raw = args.get(name, "").strip()
        if raw:
            try:
                params[name] = date.fromisoformat(raw)
            except ValueError:
                bad(name, "Must be a date like 2024-05-31")
    if params.get("from") and params.get("to") and params["from"] > params["to"]:
        bad("to", "Must not be before 'from'")
    source = args.get("source", "").strip()
    if source:
        if source in SOURCES:
            params["source"] = source
        else:
            bad("source", "Must be shopper or staff")
    raw = args.get("limit", "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT:
            params["limit"] = int(raw)
        else:
            bad("limit", f"Must be a whole number from 1 to {MAX_LIMIT}")
    raw = args.get("after", "").strip()
    if raw:
        try:
            params["after"] = decode_cursor(raw)
        except ValueError:
            bad("after", "Not a valid cursor: follow the 'next' link as given")
    return params


@bp.get("/evaluations")
@any_member
def list_evaluations():
    errors: list[dict] = []
    params = _list_params(errors)
    if errors:
        return problem(422, "Invalid query", "Some query parameters are not valid.", errors)
    org = current_org()
    query = _visible()
    for name, model, column in (("journey_id", Journey, Evaluation.journey_id), ("location_id", Location, Evaluation.location_id)):
        if name in params:
            obj = db.session.get(model, params[name])
            scope = place_scope()
            if obj is None or obj.org_id != org.id or (model is Location and scope is not None and not scope.allows(obj.id)):
                return problem(404, "Not Found", f"No such {name.removesuffix('_id')}.")
            query = query.where(column == params[name])
    if "source" in params:
        query = query.where(Evaluation.source == params["source"])
    start, end = local_day_bounds(params.get("from"), params.get("to"), org.timezone)
    if start is not None:
        query = query.where(Evaluation.started_at >= start)
    if end is not None:
        query = query.where(Evaluation.started_at < end)
    if "after" in params:
        started, last_id = params["after"]
        query = query.where(or_(Evaluation.started_at > started,
                                and_(Evaluation.started_at == started, Evaluation.id > last_id)))
    limit = params["limit"]
    rows = list(db.session.scalars(_with_details(query.order_by(Evaluation.started_at, Evaluation.id).limit(limit + 1))))
    next_url = None
    if len(rows) > limit:
        rows = rows[:limit]
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for("api.list_evaluations", _external=True, **args, after=encode_cursor(rows[-1]))
    return jsonify({"items": [evaluation_to_dict(e, with_answers=True) for e in rows], "next": next_url})


# --- photos -------------------------------------------------------------------------------------------------------------


@bp.post("/photos")
@any_member
def upload_photo():
    from ..evaluations.photos import PhotoError, save_photo

    upload = request.files.get("photo")
    if upload is None:
        return problem(422, "Invalid photo", "Send the image as the multipart form field 'photo'.",
                       [{"field": "photo", "message": "Required"}])
    try:
        photo = save_photo(current_org_id(), current_user, upload, current_app.config)
    except PhotoError as error:
        db.session.rollback()
        return problem(422, "Invalid photo", str(error), [{"field": "photo", "message": str(error)}])
    db.session.commit()
    response = jsonify({"id": photo.public_id, "width": photo.width, "height": photo.height})
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_photo", public_id=photo.public_id, _external=True)
    return response


@bp.get("/photos/<public_id>")
@any_member
def get_photo(public_id: str):
    from ..evaluations.photos import photo_path

    photo = db.session.scalar(select(Photo).where(Photo.public_id == public_id, Photo.org_id == current_org_id()))
    allowed = photo is not None and (
        photo.uploader_id == current_user.id
        or (photo.evaluation_id is not None
            and db.session.scalar(_visible().where(Evaluation.id == photo.evaluation_id)) is not None)
    )
    if not allowed:
        return problem(404, "Not Found", "No such photo.")
    path = photo_path(current_app.config, photo)
    if not path.is_file():
        return problem(404, "Not Found", "The photo file is missing.")
    # Re-encoded photos are small (PHOTO_MAX_SIDE); reading them whole avoids an open file per response.
    response = Response(path.read_bytes(), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.set_etag(photo.public_id)  # a stored photo never changes
    return response.make_conditional(request)
