"""Reviewing incoming evaluations: the list, the page's finished data, and the decisions.

Decisions: approve; reject with a reason (a rejected evaluation stops counting everywhere, see COUNTED_STATUSES);
return to the evaluator with a comment (they fix it and send it again with the same client_uuid). Every decision
adds an EvaluationEvent (who, when, what changed) and an audit log record, in the caller's transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from ..audit import record
from ..auth.models import User
from ..evaluations.models import STATUSES, Evaluation, EvaluationEvent, EvaluationFlag, Photo
from ..extensions import db
from ..i18n import N_
from ..scoring.rules import DEFAULT_BANDS, score_band
from ..scoring.values import display_value
from ..timeutil import utcnow
from .integrity import flag_label

# Labels stay English here (error messages use them); pages translate them where they show them: _(label).
STATUS_LABELS = {"submitted": N_("Waiting for review"), "approved": N_("Approved"), "rejected": N_("Rejected"),
                 "returned": N_("Returned for a fix")}
# The statuses as the review filter lists them (lower case, capitalised by the page).
STATUS_WORDS = (N_("submitted"), N_("approved"), N_("rejected"), N_("returned"))
MAX_COMMENT = 2000


class ReviewError(Exception):
    """A decision that cannot be made (wrong state, missing reason)."""


def _event(evaluation: Evaluation, user: User | None, action: str, comment: str, changes: list[dict]) -> EvaluationEvent:
    event = EvaluationEvent(evaluation=evaluation, user_id=getattr(user, "id", None), action=action,
                            comment=comment, changes=changes, at=utcnow())
    db.session.add(event)
    return event


def _decide(evaluation: Evaluation, user: User | None, status: str, comment: str, allowed_from: tuple[str, ...],
            verb: str) -> EvaluationEvent:
    if evaluation.status not in allowed_from:
        raise ReviewError(f"This evaluation is {STATUS_LABELS.get(evaluation.status, evaluation.status).lower()}; "
                          f"it cannot be {verb} now.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ReviewError(f"Keep the comment under {MAX_COMMENT} characters.")
    changes = [{"field": "status", "old": evaluation.status, "new": status}]
    if comment != (evaluation.review_comment or ""):
        changes.append({"field": "review_comment", "old": evaluation.review_comment or "", "new": comment})
    evaluation.status = status
    evaluation.review_comment = comment
    evaluation.reviewed_by_id = getattr(user, "id", None)
    evaluation.reviewed_at = utcnow()
    event = _event(evaluation, user, status, comment, changes)
    summary = f"Evaluation {evaluation.id} {verb}" + (f": {comment}" if comment else "")
    record(f"evaluation.{status}", evaluation, user=user, summary=summary)
    db.session.flush()
    return event


def approve(evaluation: Evaluation, user: User | None, comment: str = "") -> EvaluationEvent:
    from ..notify.notices import notify_critical_fail_approved

    event = _decide(evaluation, user, "approved", comment, ("submitted", "rejected", "returned"), "approved")
    notify_critical_fail_approved(evaluation)  # the site's managers see (and hear of) approved visits only
    from ..webhooks.services import emit_evaluation

    emit_evaluation(evaluation, "evaluation.approved")
    return event


def reject(evaluation: Evaluation, user: User | None, reason: str) -> EvaluationEvent:
    if not (reason or "").strip():
        raise ReviewError("Give a reason for rejecting it.")
    return _decide(evaluation, user, "rejected", reason, ("submitted", "approved", "returned"), "rejected")


def return_to_evaluator(evaluation: Evaluation, user: User | None, comment: str) -> EvaluationEvent:
    if not (comment or "").strip():
        raise ReviewError("Say what to fix, so the shopper knows.")
    if evaluation.evaluator_id is None:
        raise ReviewError("The person who sent it no longer has an account; reject or approve it instead.")
    if evaluation.source != "shopper":
        # Shoppers find returned visits on "My visits"; a staff self-assessment is approved or rejected instead.
        raise ReviewError("Only secret shopper visits can be returned for a fix.")
    return _decide(evaluation, user, "returned", comment, ("submitted", "approved"), "returned")


# --- the list -------------------------------------------------------------------------------------------------


@dataclass
class ReviewFilters:
    location_id: int | None = None
    journey_id: int | None = None
    evaluator_id: int | None = None
    status: str = ""
    flag: str = ""  # a flag code, "any" for any flag, "" for no filter
    source: str = ""


def review_query(org_id: int, filters: ReviewFilters):
    query = select(Evaluation).where(Evaluation.org_id == org_id)
    if filters.location_id:
        query = query.where(Evaluation.location_id == filters.location_id)
    if filters.journey_id:
        query = query.where(Evaluation.journey_id == filters.journey_id)
    if filters.evaluator_id:
        query = query.where(Evaluation.evaluator_id == filters.evaluator_id)
    if filters.status in STATUSES:
        query = query.where(Evaluation.status == filters.status)
    if filters.source in ("shopper", "staff"):
        query = query.where(Evaluation.source == filters.source)
    if filters.flag:
        flagged = select(EvaluationFlag.id).where(EvaluationFlag.evaluation_id == Evaluation.id)
        if filters.flag != "any":
            flagged = flagged.where(EvaluationFlag.code == filters.flag)
        query = query.where(exists(flagged))
    return query


def review_count(org_id: int, filters: ReviewFilters) -> int:
    """How many evaluations the filters match (for 'page 2 of 7')."""
    return db.session.scalar(select(func.count()).select_from(review_query(org_id, filters).subquery())) or 0


def review_list(org_id: int, filters: ReviewFilters, *, limit: int = 50, offset: int = 0,
                bands: tuple[float, float] = DEFAULT_BANDS) -> list[dict]:
    """Newest first, with what each row shows; relations loaded up front (no query per row)."""
    query = (review_query(org_id, filters)
             .options(joinedload(Evaluation.location), joinedload(Evaluation.journey),
                      joinedload(Evaluation.evaluator), selectinload(Evaluation.flags))
             .order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc()).limit(limit).offset(offset))
    return [_list_row(e, bands) for e in db.session.scalars(query).unique()]


def status_counts(org_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Evaluation.status, func.count()).where(Evaluation.org_id == org_id)
                              .group_by(Evaluation.status))
    return {status: n for status, n in rows}


def _list_row(evaluation: Evaluation, bands: tuple[float, float]) -> dict:
    return {
        "evaluation": evaluation,
        "status_label": STATUS_LABELS.get(evaluation.status, evaluation.status),
        "flags": [{"code": f.code, "label": flag_label(f.code), "detail": f.detail} for f in evaluation.flags],
        "band": score_band(evaluation.score, bands),
    }


# --- the page -------------------------------------------------------------------------------------------------


def _photo_urls(evaluation: Evaluation) -> dict[str, str]:
    refs = {a.value for a in evaluation.answers if a.question is not None and a.question.type == "photo" and a.value}
    if not refs:
        return {}
    found = db.session.scalars(select(Photo.public_id).where(Photo.org_id == evaluation.org_id,
                                                             Photo.public_id.in_(refs)))
    return {public_id: f"/api/v1/photos/{public_id}" for public_id in found}


def review_page(evaluation: Evaluation, bands: tuple[float, float] = DEFAULT_BANDS) -> dict:
    """Everything the review page shows, as finished values: moments with their answers, flags and history."""
    moments = list(evaluation.version.moments) if evaluation.version is not None else []
    results = {r.moment_key: r for r in evaluation.moment_results}
    answers = {(a.moment_key, a.question_key): a for a in evaluation.answers}
    photos = _photo_urls(evaluation)
    shown = []
    for moment in moments:
        result = results.get(moment.key)
        rows = []
        for question in moment.questions:
            answer = answers.get((moment.key, question.key))
            value = answer.value if answer is not None else None
            rows.append({
                "question": question,
                "value": value,
                "display": display_value(question.type, value),
                "photo_url": photos.get(value) if question.type == "photo" and value else None,
                "score": None if answer is None or answer.score is None else 100.0 * answer.score,
                "note": answer.note if answer is not None else "",
            })
        score = result.score if result else None
        shown.append({
            "moment": moment,
            "score": score,
            "band": score_band(score, bands),
            "critical_fail": bool(result and result.critical_fail),
            "verdict": result.verdict if result else None,
            "duration": result.duration_seconds if result else None,
            "expected": moment.expected_seconds,
            "note": result.note if result else "",
            "answers": rows,
        })
    events = list(db.session.scalars(
        select(EvaluationEvent).options(joinedload(EvaluationEvent.user))
        .where(EvaluationEvent.evaluation_id == evaluation.id).order_by(EvaluationEvent.at, EvaluationEvent.id)
    ))
    return {
        "evaluation": evaluation,
        "status_label": STATUS_LABELS.get(evaluation.status, evaluation.status),
        "band": score_band(evaluation.score, bands),
        "moments": shown,
        "flags": [{"code": f.code, "label": flag_label(f.code), "detail": f.detail} for f in evaluation.flags],
        "events": [_event_row(e) for e in events],
        "duration": (evaluation.finished_at - evaluation.started_at).total_seconds()
        if evaluation.finished_at and evaluation.started_at else None,
        "can_approve": evaluation.status in ("submitted", "rejected", "returned"),
        "can_reject": evaluation.status in ("submitted", "approved", "returned"),
        "can_return": evaluation.status in ("submitted", "approved") and evaluation.evaluator_id is not None
        and evaluation.source == "shopper",
    }


EVENT_LABELS = {"submitted": N_("Sent"), "resubmitted": N_("Fixed and sent again"), "approved": N_("Approved"),
                "rejected": N_("Rejected"), "returned": N_("Returned for a fix")}


def _event_row(event: EvaluationEvent) -> dict:
    return {
        "at": event.at,
        "who": event.user.name if event.user else N_("someone no longer here"),
        "gone": event.user is None,  # `who` is then a text to translate, not a name
        "action": EVENT_LABELS.get(event.action, event.action.replace("_", " ").capitalize()),
        "comment": event.comment or "",
        "changes": [{"field": c.get("field", ""), "old": _show(c.get("old")), "new": _show(c.get("new"))}
                    for c in (event.changes or []) if isinstance(c, dict)],
    }


def _show(value) -> str:
    if value is None or value == "":
        return "(empty)"
    return str(value)


# --- fixing a returned evaluation ------------------------------------------------------------------------------


def _iso(value) -> str:
    return value.replace(microsecond=0).isoformat() + "Z" if value else ""


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def form_values(evaluation: Evaluation) -> dict[str, str]:
    """The stored evaluation as the phone form's field values, so a fix starts from what was sent."""
    from ..evaluations.forms import answer_name, note_name

    values = {
        "client_uuid": evaluation.client_uuid,
        "location_id": str(evaluation.location_id),
        "started_at": _iso(evaluation.started_at),
        "finished_at": _iso(evaluation.finished_at),
        "notes": evaluation.notes or "",
        "source": evaluation.source,
    }
    if evaluation.assignment_id:
        values["assignment_id"] = str(evaluation.assignment_id)
    for answer in evaluation.answers:
        if answer.value is not None:
            values[answer_name(answer.moment_key, answer.question_key)] = answer.value
        if answer.note:
            values[note_name(answer.moment_key, answer.question_key)] = answer.note
    for result in evaluation.moment_results:
        if result.note:
            values[f"moment_notes.{result.moment_key}"] = result.note
        if result.duration_seconds is not None:
            values[f"durations.{result.moment_key}"] = _number_text(result.duration_seconds)
    return values


# --- bulk approval --------------------------------------------------------------------------------------------

BULK_APPROVE_LIMIT = 100  # one confirmation page a reviewer can still read through


def _unflagged_waiting(org_id: int, filters: ReviewFilters):
    """Waiting evaluations without any integrity flag, within the other filters (a flag filter matches none)."""
    if filters.flag:
        return None
    flagged = select(EvaluationFlag.id).where(EvaluationFlag.evaluation_id == Evaluation.id)
    return review_query(org_id, replace(filters, status="submitted")).where(~exists(flagged))


def bulk_candidates(org_id: int, filters: ReviewFilters, *, limit: int = BULK_APPROVE_LIMIT) -> tuple[list[Evaluation], int]:
    """The unflagged waiting evaluations a bulk approval would approve (oldest first, at most `limit`) and how many
    match in all."""
    query = _unflagged_waiting(org_id, filters)
    if query is None:
        return [], 0
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if not limit or not total:
        return [], total
    rows = db.session.scalars(
        query.options(joinedload(Evaluation.location), joinedload(Evaluation.journey), joinedload(Evaluation.evaluator))
        .order_by(Evaluation.submitted_at, Evaluation.id).limit(limit)).unique()
    return list(rows), total


@dataclass
class BulkResult:
    approved: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # changed since the confirmation page: decided, flagged, gone


def bulk_approve(org_id: int, evaluation_ids: list[int], user: User | None) -> BulkResult:
    """Approve the confirmed evaluations that are still waiting and unflagged, in the caller's transaction.

    Only the ids the reviewer saw on the confirmation page are touched; one that was decided or flagged since then
    is skipped, not approved behind the reviewer's back.
    """
    wanted = sorted(set(evaluation_ids))[:BULK_APPROVE_LIMIT]
    result = BulkResult()
    if not wanted:
        return result
    query = _unflagged_waiting(org_id, ReviewFilters()).where(Evaluation.id.in_(wanted)).order_by(Evaluation.id)
    still = {e.id: e for e in db.session.scalars(query.with_for_update())}
    for evaluation_id in wanted:
        evaluation = still.get(evaluation_id)
        if evaluation is None:
            result.skipped.append(evaluation_id)
            continue
        approve(evaluation, user, "")
        result.approved.append(evaluation_id)
    if result.approved:
        record("evaluation.bulk_approved", None, user=user, org_id=org_id,
               summary=f"Approved {len(result.approved)} unflagged evaluations at once",
               detail={"approved": result.approved, "skipped": result.skipped})
    return result
