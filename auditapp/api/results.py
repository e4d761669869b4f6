"""API endpoints: results (contract section 4: GET /api/v1/scorecard), the same numbers as the dashboard."""
from __future__ import annotations

from flask import jsonify, request

from ..results.queries import FilterError, NotFound, Scorecard, filters_from_args, scorecard
from ..tenancy import RESULT_VIEWERS, current_org, place_scope, roles_required
from ..web import problem
from . import bp


@bp.get("/scorecard")
@roles_required(*RESULT_VIEWERS)
def scorecard_json():
    """Scores per moment for `journey_id, location_id, region, from, to, source, status`; scores unrounded, 0 to 100.

    `source` defaults to secret shoppers and `status` to every evaluation that counts; the answer says which.

    Scorecards are for managers (place-scoped managers: their own places, approved shopper visits); shoppers and
    staff get 403 (they see their own evaluations elsewhere).
    """
    org = current_org()
    try:
        filters = filters_from_args(request.args, org, scope=place_scope())
    except FilterError as error:
        return problem(422, "Unprocessable Entity", "Some query parameters are not valid.", error.errors)
    try:
        card = scorecard(org, filters)
    except NotFound:
        return problem(404, "Not Found", "There is no such journey in your organisation.")
    return jsonify(scorecard_to_dict(card))


def _day(value):
    return value.isoformat() if value else None


def scorecard_to_dict(card: Scorecard) -> dict:
    """Contract fields first; the rest (intervals, change, durations...) are additions clients may ignore."""
    return {
        "journey_id": card.journey_id,
        "evaluations": card.evaluations,
        "score": card.score,
        "moments": [
            {
                "key": m.key, "name": m.name, "position": m.position, "n": m.n, "score": m.score,
                "magical": m.magical, "neutral": m.neutral, "miserable": m.miserable,
                "critical_fails": m.critical_fails,
                "low": m.low, "high": m.high, "priority": m.priority, "channel": m.channel, "kind": m.kind,
                "retired": m.retired, "mean_duration": m.mean_duration, "expected_seconds": m.expected_seconds,
                "previous_n": m.previous_n, "previous_score": m.previous_score, "change": m.change,
                "warning": m.signal.flagged, "warning_reason": m.signal.reason,
            }
            for m in card.moments
        ],
        "journey_name": card.journey_name,
        "from": _day(card.period.date_from),
        "to": _day(card.period.date_to),
        "scored_evaluations": card.estimate.n,
        "low": card.estimate.low,
        "high": card.estimate.high,
        "remembered_score": card.remembered_score,
        "comparison": {
            "current_from": _day(card.comparison.current.date_from),
            "current_to": _day(card.comparison.current.date_to),
            "previous_from": _day(card.comparison.previous.date_from),
            "previous_to": _day(card.comparison.previous.date_to),
        },
        "weakest_priority_moment": card.weakest_priority.key if card.weakest_priority else None,
        "source": card.filters.source_key,
        "status": card.filters.status,
    }
