"""API: disputes (contract section 7).

POST /api/v1/evaluations/{id}/disputes {moment, question, reason} -> 201 {id, status: "open", ...}: location and
regional managers, on an approved secret-shopper visit of their own places within the dispute window.
POST /api/v1/disputes/{id}/decision {decision: "accepted"|"declined", reason, value} -> 200: managers and admins.
The rules live in auditapp.disputes.services, the same for the pages; errors are application/problem+json.
"""
from __future__ import annotations

from flask import jsonify, request, url_for
from flask_login import current_user

from ..auth.models import PLACE_ROLES
from ..disputes.models import Dispute
from ..disputes.services import DisputeError, decide_dispute, may_open_on, open_dispute, visible_disputes
from ..evaluations.models import Evaluation
from ..extensions import db
from ..tenancy import MANAGERS, current_org_id, current_role, roles_required
from ..web import problem
from . import bp

OPEN_KEYS = ("moment", "question", "reason")
DECISION_KEYS = ("decision", "reason", "value")


def _iso(value) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def dispute_to_dict(dispute: Dispute) -> dict:
    evaluation = dispute.evaluation
    return {
        "id": dispute.id,
        "status": dispute.status,
        "evaluation_id": dispute.evaluation_id,
        "moment": dispute.moment_key,
        "question": dispute.question_key,
        "reason": dispute.reason,
        "value_before": dispute.value_before,
        "value_after": dispute.value_after,
        "decision_reason": dispute.decision_reason or "",
        "evidence": dispute.evidence_kind or None,
        "opened_at": _iso(dispute.opened_at),
        "decided_at": _iso(dispute.decided_at),
        "evaluation_score": evaluation.score,
    }


def _body(keys: tuple[str, ...]):
    """The JSON object sent, or a problem response: 400 for no JSON, 422 naming unknown fields."""
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        return None, problem(400, "Bad Request", "The body must be a JSON object (Content-Type: application/json).")
    if not isinstance(payload, dict):
        return None, problem(422, "Invalid request", "The body must be a JSON object.",
                             [{"field": "body", "message": "Must be a JSON object"}])
    unknown = [{"field": str(key), "message": "Unknown field"} for key in payload if key not in keys]
    if unknown:
        return None, problem(422, "Invalid request", f"Unknown field(s); send only {', '.join(keys)}.", unknown)
    return payload, None


def _failed(error: DisputeError):
    db.session.rollback()
    return problem(error.status, error.title, error.detail, error.errors or None)


@bp.post("/evaluations/<int:evaluation_id>/disputes")
@roles_required(*PLACE_ROLES)
def open_evaluation_dispute(evaluation_id: int):
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.org_id != current_org_id() \
            or not may_open_on(evaluation, current_user, current_role()):
        return problem(404, "Not Found", "No such evaluation.")  # another site's visit too: as if it did not exist
    payload, refused = _body(OPEN_KEYS)
    if refused is not None:
        return refused
    try:
        dispute = open_dispute(evaluation, current_user, current_role(), moment_key=payload.get("moment"),
                               question_key=payload.get("question"), reason=payload.get("reason"))
    except DisputeError as error:
        return _failed(error)
    db.session.commit()
    response = jsonify(dispute_to_dict(dispute))
    response.status_code = 201
    response.headers["Location"] = url_for("disputes.show", dispute_id=dispute.id, _external=True)
    return response


@bp.post("/disputes/<int:dispute_id>/decision")
@roles_required(*MANAGERS)
def decide_evaluation_dispute(dispute_id: int):
    dispute = db.session.scalar(visible_disputes(current_org_id(), current_user, current_role())
                                .where(Dispute.id == dispute_id))
    if dispute is None:
        return problem(404, "Not Found", "No such dispute.")
    payload, refused = _body(DECISION_KEYS)
    if refused is not None:
        return refused
    try:
        decide_dispute(dispute, current_user, current_role(), decision=payload.get("decision"),
                       reason=payload.get("reason"), value=payload.get("value"))
    except DisputeError as error:
        return _failed(error)
    db.session.commit()
    return jsonify(dispute_to_dict(dispute))
