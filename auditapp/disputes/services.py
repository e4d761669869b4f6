"""Opening, discussing and deciding disputes; what the pages show; the query rate per location.

`open_dispute` and `decide_dispute` are the one way a dispute is opened or decided (web form, API and demo alike):
each checks everything first and stores nothing on error, then records an EvaluationEvent (the visit's history) and
an audit-log entry and queues the notice, all in the caller's transaction (services flush; callers commit). Anything
else that must happen when a dispute is opened or decided (webhooks) belongs in these two functions.

Who: the place-scoped managers (location and regional managers) open disputes on the approved secret-shopper visits
they can see (tenancy.scope_of), within the organisation's window after approval (rules.dispute_window); the
organisation's admins and managers decide them. Both sides write in the thread while the dispute is open.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import case, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..audit import record
from ..auth.models import PLACE_ROLES, Organisation, User
from ..evaluations.models import Answer, Evaluation, EvaluationEvent
from ..evaluations.services import visible_evaluations
from ..extensions import db
from ..journeys.models import Moment, Question
from ..journeys.spec import VERDICT_KEY
from ..locations.models import Location
from ..notify.notices import notify_dispute_decided, notify_dispute_opened
from ..notify.outbox import is_muted
from ..notify.recipients import org_managers
from ..notify.urls import absolute_url
from ..places import SCOPED_SOURCE, SCOPED_STATUSES
from ..scoring.rules import ItemResult, answer_score
from ..scoring.values import AnswerError, display_value, parse_value
from ..timeutil import to_local, utcnow
from ..webhooks.services import emit_dispute
from .evidence import EvidenceError, read_evidence, remove_evidence, store_evidence
from .models import DISPUTE_STATUSES, Dispute, DisputeMessage
from .rules import DEFAULT_WINDOW_DAYS, StoredMoment, Window, dispute_window, rescore

MANAGER_ROLES = ("admin", "manager")
MAX_REASON = 5000
MAX_MESSAGE = 5000
DECISIONS = ("accepted", "declined")
STATUS_LABELS = {"open": _l("Open"), "accepted": _l("Accepted"), "declined": _l("Declined")}  # shown on pages only


class DisputeError(Exception):
    """A dispute that cannot be opened, discussed or decided; `status` is the HTTP status the API answers with and
    `errors` lists each field with what is wrong ({"field", "message"})."""

    def __init__(self, status: int, title: str, detail: str, errors: list[dict] | None = None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors: list[dict] = errors or []


def _one(status: int, title: str, field: str, message: str) -> DisputeError:
    return DisputeError(status, title, message, [{"field": field, "message": message}])


def _text(raw, field: str, limit: int, errors: list[dict], *, required: str | None) -> str:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        errors.append({"field": field, "message": "Must be text"})
        return ""
    text = raw.strip()
    if not text and required:
        errors.append({"field": field, "message": required})
    elif len(text) > limit:
        errors.append({"field": field, "message": f"Too long: at most {limit} characters (this is {len(text)})"})
    return text


# --- the window -----------------------------------------------------------------------------------------------------


def approved_at(evaluation: Evaluation) -> datetime | None:
    """When the evaluation was approved (the latest approval), or None when it is not approved now."""
    if evaluation.status != "approved":
        return None
    if evaluation.reviewed_at is not None:
        return evaluation.reviewed_at
    return db.session.scalar(select(func.max(EvaluationEvent.at)).where(
        EvaluationEvent.evaluation_id == evaluation.id, EvaluationEvent.action == "approved"))


def window_for(evaluation: Evaluation, org: Organisation, now: datetime | None = None) -> Window:
    return dispute_window(approved_at(evaluation), org.dispute_window_days, org.timezone, now or utcnow())


def window_text(window: Window, evaluation: Evaluation, org: Organisation) -> str:
    """The window's message in the reader's language, for the pages (rules.py words it in English, for the API)."""
    days = DEFAULT_WINDOW_DAYS if org.dispute_window_days is None else org.dispute_window_days
    approved = approved_at(evaluation)
    if days <= 0:
        return _("Your organisation does not take disputes (the dispute window is 0 days).")
    if approved is None or window.last_day is None:
        return _("This visit has no approval time recorded, so it cannot be disputed.")
    dates = {"last_day": window.last_day.isoformat(), "approved_on": to_local(approved, org.timezone).date().isoformat()}
    if not window.open:
        return ngettext("The time to dispute this visit ended on %(last_day)s (%(num)d day after its approval on "
                        "%(approved_on)s).", "The time to dispute this visit ended on %(last_day)s (%(num)d days after "
                        "its approval on %(approved_on)s).", days, **dates)
    return ngettext("Answers of this visit may be disputed until the end of %(last_day)s (%(num)d day after its "
                    "approval on %(approved_on)s).", "Answers of this visit may be disputed until the end of "
                    "%(last_day)s (%(num)d days after its approval on %(approved_on)s).", days, **dates)


# --- who sees what --------------------------------------------------------------------------------------------------


def _visible_evaluation_ids(org_id: int, user: User, role: str | None):
    return (visible_evaluations(org_id, user, role)
            .where(Evaluation.source == SCOPED_SOURCE, Evaluation.status.in_(SCOPED_STATUSES))
            .with_only_columns(Evaluation.id))


def visible_disputes(org_id: int, user: User, role: str | None):
    """SELECT of the disputes this member may see: the organisation's managers all of them, location and regional
    managers those on visits they can see (their places' approved secret-shopper visits), anyone else none."""
    query = select(Dispute).where(Dispute.org_id == org_id)
    if role in MANAGER_ROLES:
        return query
    if role in PLACE_ROLES:
        return query.where(Dispute.evaluation_id.in_(_visible_evaluation_ids(org_id, user, role)))
    return query.where(false())


def may_open_on(evaluation: Evaluation, user: User, role: str | None) -> bool:
    return role in PLACE_ROLES and db.session.scalar(
        _visible_evaluation_ids(evaluation.org_id, user, role).where(Evaluation.id == evaluation.id)) is not None


# --- opening --------------------------------------------------------------------------------------------------------


def find_question(evaluation: Evaluation, moment_key: str, question_key: str) -> Question | None:
    """The question of the evaluation's own journey version."""
    return db.session.scalar(select(Question).join(Moment, Moment.id == Question.moment_id).where(
        Moment.version_id == evaluation.version_id, Moment.key == moment_key, Question.key == question_key))


def _answer(evaluation: Evaluation, moment_key: str, question_key: str) -> Answer | None:
    return db.session.scalar(select(Answer).where(Answer.evaluation_id == evaluation.id, Answer.moment_key == moment_key,
                                                  Answer.question_key == question_key))


def open_key(evaluation_id: int, moment_key: str, question_key: str) -> str:
    return f"{evaluation_id}:{moment_key}:{question_key}"


def _open_on(key: str) -> Dispute | None:
    return db.session.scalar(select(Dispute).where(Dispute.open_key == key))


def open_dispute(evaluation: Evaluation, user: User, role: str | None, *, moment_key, question_key, reason,
                 evidence=None, config=None, now: datetime | None = None) -> Dispute:
    """Open a dispute of one answer; raises DisputeError (403 wrong role, 404 not a visit this user sees, 409 window
    closed or an open dispute on this answer already, 422 bad fields). `evidence`: an uploaded file or None."""
    now = now or utcnow()
    if role not in PLACE_ROLES:
        raise DisputeError(403, "Forbidden", "Only a location's managers and regional managers can dispute an answer.")
    if not may_open_on(evaluation, user, role):
        raise _one(404, "Not Found", "evaluation_id", "No such evaluation")
    org = db.session.get(Organisation, evaluation.org_id)
    window = window_for(evaluation, org, now)
    if not window.open:
        raise _one(409, "Dispute window closed", "evaluation_id", window.message)

    errors: list[dict] = []
    question = None
    for field, raw in (("moment", moment_key), ("question", question_key)):
        if not isinstance(raw, str) or not raw.strip():
            errors.append({"field": field, "message": f"Required: the key of the {field}, e.g. "
                                                      f"{'greeting' if field == 'moment' else 'greeted'}"})
    if not errors:
        moment_key, question_key = moment_key.strip(), question_key.strip()
        question = find_question(evaluation, moment_key, question_key)
        if question is None:
            known = db.session.scalar(select(Moment.id).where(Moment.version_id == evaluation.version_id,
                                                              Moment.key == moment_key))
            if known is None:
                errors.append({"field": "moment", "message": f"This visit has no moment '{moment_key}'"})
            else:
                errors.append({"field": "question", "message": f"The moment '{moment_key}' has no question "
                                                               f"'{question_key}'"})
    reason = _text(reason, "reason", MAX_REASON, errors,
                   required="Required: say what is wrong with this answer, so the reviewer can check it")
    try:
        checked = read_evidence(evidence, config)
    except EvidenceError as error:
        errors.append({"field": "evidence", "message": str(error)})
        checked = None
    if errors:
        raise DisputeError(422, "Invalid dispute", f"{len(errors)} problem(s) in the dispute.", errors)

    key = open_key(evaluation.id, moment_key, question_key)
    already = _open_on(key)
    if already is not None:
        raise _one(409, "Already disputed", "question",
                   f"This answer is already disputed (dispute #{already.id}, still open): add to its thread instead")
    answer = _answer(evaluation, moment_key, question_key)
    path = store_evidence(org.id, checked, config) if checked is not None else ""
    dispute = Dispute(org_id=org.id, evaluation_id=evaluation.id, question_id=question.id, moment_key=moment_key,
                      question_key=question_key, open_key=key, status="open", reason=reason,
                      value_before=answer.value if answer is not None else None, opened_by_id=user.id, opened_at=now,
                      evidence_kind=checked.kind if checked else "", evidence_path=path,
                      evidence_name=checked.name if checked else "", evidence_bytes=len(checked.data) if checked else 0)
    _begin_sqlite_transaction()
    try:
        with db.session.begin_nested():  # two people disputing the same answer at once: the second gets the 409
            db.session.add(dispute)
            db.session.flush()
    except IntegrityError:
        remove_evidence(config, path)
        raise _one(409, "Already disputed", "question", "This answer was disputed a moment ago: open its dispute "
                                                        "and add to the thread instead") from None
    moment_name = question.moment.name
    db.session.add(EvaluationEvent(evaluation_id=evaluation.id, user_id=user.id, at=now, action="dispute_opened",
                                   comment=f"Dispute #{dispute.id} of \"{question.text}\" ({moment_name}): {reason}",
                                   changes=[]))
    record("dispute.opened", dispute, user=user,
           summary=f"Dispute #{dispute.id} opened on evaluation {evaluation.id}, {moment_name}: {question.text}",
           detail={"evaluation_id": evaluation.id, "moment": moment_key, "question": question_key,
                   "evidence": dispute.evidence_kind or None})
    if not is_muted():  # the demo's made-up disputes mail no one (and need no links)
        _notify_opened(dispute, evaluation, question, user)
    db.session.flush()
    emit_dispute(dispute, "dispute.opened")
    return dispute


def _notify_opened(dispute: Dispute, evaluation: Evaluation, question: Question, user: User) -> None:
    location = evaluation.location
    notify_dispute_opened(
        org_id=dispute.org_id, dispute_id=dispute.id, evaluation_id=evaluation.id,
        location_name=f"{location.code} {location.name}", journey_name=evaluation.journey.name,
        moment_name=question.moment.name, question_text=question.text, reason=dispute.reason,
        opened_by_name=user.name, recipients=[u for u in org_managers(dispute.org_id) if u.id != user.id],
        link=absolute_url("disputes.show", dispute_id=dispute.id))


def _begin_sqlite_transaction() -> None:
    """pysqlite opens a transaction only at the first write, so a SAVEPOINT before any write would be the outermost one
    and its RELEASE would commit by itself. Open it first, so the caller's commit or rollback decides (as in
    evaluations.services and notify.outbox)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")


# --- the thread -----------------------------------------------------------------------------------------------------


def add_message(dispute: Dispute, user: User, role: str | None, body, *, now: datetime | None = None) -> DisputeMessage:
    if role not in (*MANAGER_ROLES, *PLACE_ROLES):
        raise DisputeError(403, "Forbidden", "Your role cannot write in disputes.")
    if dispute.status != "open":
        raise _one(409, "Dispute closed", "body", f"This dispute was {dispute.status}; its thread is closed")
    errors: list[dict] = []
    text = _text(body, "body", MAX_MESSAGE, errors, required="Required: write your message")
    if errors:
        raise DisputeError(422, "Invalid message", errors[0]["message"], errors)
    message = DisputeMessage(dispute_id=dispute.id, user_id=user.id, at=now or utcnow(), body=text)
    db.session.add(message)
    db.session.flush()
    record("dispute.commented", dispute, user=user, summary=f"Message in dispute #{dispute.id}",
           detail={"message_id": message.id})
    return message


# --- deciding -------------------------------------------------------------------------------------------------------


def parse_corrected_value(question: Question, raw):
    """The corrected answer a reviewer gives; raises AnswerError (its message completes "The answer ...")."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise AnswerError("is required: give the corrected answer, or na to mark it N/A")
    if question.type == "photo" and not (isinstance(raw, str) and raw.strip().casefold() == "na"):
        raise AnswerError("of a photo question can only be marked N/A (na)")
    return parse_value(question.type, raw, options=question.option_specs, is_verdict=question.key == VERDICT_KEY)


def decide_dispute(dispute: Dispute, user: User, role: str | None, *, decision, reason, value=None,
                   now: datetime | None = None) -> Dispute:
    """Accept (the answer becomes `value`, "na" for N/A, and the scores are recomputed) or decline (with a reason)
    an open dispute; raises DisputeError (403, 409 already decided, 422 bad fields)."""
    now = now or utcnow()
    if role not in MANAGER_ROLES:
        raise DisputeError(403, "Forbidden", "Only the organisation's managers decide disputes.")
    if dispute.status != "open":
        raise _one(409, "Already decided", "decision", f"This dispute was already {dispute.status}"
                   + (f" on {dispute.decided_at:%Y-%m-%d}" if dispute.decided_at else ""))
    errors: list[dict] = []
    if decision not in DECISIONS:
        errors.append({"field": "decision", "message": "Must be accepted or declined"})
    reason = _text(reason, "reason", MAX_REASON, errors,
                   required="Required: say why it is declined, so the site knows" if decision == "declined" else None)
    question = dispute.question
    parsed = None
    if decision == "accepted":
        try:
            parsed = parse_corrected_value(question, value)
        except AnswerError as error:
            errors.append({"field": "value", "message": "The answer " + str(error)})
        else:
            current = _answer(dispute.evaluation, dispute.moment_key, dispute.question_key)
            if current is not None and current.value == parsed.text:
                errors.append({"field": "value", "message": f"That is the answer already recorded "
                                                            f"({display_value(question.type, parsed.text)}): give the "
                                                            "corrected answer, or decline the dispute"})
    if errors:
        raise DisputeError(422, "Invalid decision", f"{len(errors)} problem(s) in the decision.", errors)

    evaluation = dispute.evaluation
    changes = _apply_answer(evaluation, question, dispute.moment_key, dispute.question_key, parsed) if parsed else []
    dispute.status = decision
    dispute.open_key = None
    dispute.decided_by_id = user.id
    dispute.decided_at = now
    dispute.decision_reason = reason
    dispute.value_after = parsed.text if parsed is not None else None
    db.session.add(EvaluationEvent(evaluation_id=evaluation.id, user_id=user.id, at=now, action=f"dispute_{decision}",
                                   comment=reason, changes=changes))
    record(f"dispute.{decision}", dispute, user=user,
           summary=f"Dispute #{dispute.id} {decision}" + (f": {reason}" if reason else ""),
           detail={"evaluation_id": evaluation.id, "changes": changes})
    if not is_muted():
        _notify_decided(dispute, evaluation, question, user)
    db.session.flush()
    emit_dispute(dispute, "dispute.decided")
    return dispute


def _notify_decided(dispute: Dispute, evaluation: Evaluation, question: Question, user: User) -> None:
    location = evaluation.location
    opener = dispute.opened_by
    notify_dispute_decided(
        org_id=dispute.org_id, dispute_id=dispute.id, location_name=f"{location.code} {location.name}",
        journey_name=evaluation.journey.name, moment_name=question.moment.name, question_text=question.text,
        decision=dispute.status, reason=dispute.decision_reason, decided_by_name=user.name,
        recipients=[opener] if opener is not None and opener.id != user.id else [],
        link=absolute_url("disputes.show", dispute_id=dispute.id))


def _apply_answer(evaluation: Evaluation, question: Question, moment_key: str, question_key: str, parsed) -> list[dict]:
    """Set the answer and recompute its moment's and the evaluation's scores; returns the changes for the history,
    in the shape a resubmission's event uses ({"field", "old", "new"})."""
    answer = _answer(evaluation, moment_key, question_key)
    if answer is None:  # an optional question left unanswered: the dispute supplies its answer
        answer = Answer(evaluation_id=evaluation.id, question_id=question.id, moment_key=moment_key,
                        question_key=question_key, note="")
        db.session.add(answer)
    old_value = answer.value
    answer.value = parsed.text
    answer.number = parsed.number
    answer.score = answer_score(question.type, parsed, options=question.option_specs, target=question.target)
    db.session.flush()

    moment = question.moment
    answers = {a.question_key: a for a in db.session.scalars(
        select(Answer).where(Answer.evaluation_id == evaluation.id, Answer.moment_key == moment_key))}
    items = [ItemResult(weight=q.weight, fraction=answers[q.key].score, critical=q.critical)
             for q in moment.questions if q.key in answers and answers[q.key].score is not None]
    weights = {m.key: m.weight for m in evaluation.version.moments}
    results = sorted(evaluation.moment_results, key=lambda r: r.position)
    rescored = rescore([StoredMoment(r.moment_key, weights.get(r.moment_key, 1.0), r.score) for r in results],
                       moment_key, items)
    result = next(r for r in results if r.moment_key == moment_key)
    changes = [{"field": f"{moment_key}.{question_key}", "old": old_value, "new": parsed.text}]

    def change(field: str, old, new) -> None:
        if old != new:
            changes.append({"field": field, "old": old, "new": new})

    change(f"{moment_key}.score", result.score, rescored.moment.score)
    change(f"{moment_key}.critical_fail", bool(result.critical_fail), rescored.moment.critical_fail)
    result.score, result.critical_fail = rescored.moment.score, rescored.moment.critical_fail
    if question.key == VERDICT_KEY:
        change(f"{moment_key}.verdict", result.verdict, parsed.text)
        result.verdict = parsed.text
    change("score", evaluation.score, rescored.score)
    change("remembered_score", evaluation.remembered_score, rescored.remembered_score)
    evaluation.score, evaluation.remembered_score = rescored.score, rescored.remembered_score
    return changes


# --- what the pages show --------------------------------------------------------------------------------------------


def _who(user: User | None) -> str:
    return user.name if user is not None else "someone no longer here"


@dataclass(frozen=True, slots=True)
class DisputeRow:
    dispute: Dispute
    status_label: str
    location: str
    journey: str
    moment: str
    question: str
    visit_at: datetime


def dispute_rows(org_id: int, user: User, role: str | None, *, status: str = "open", limit: int = 200) -> list[DisputeRow]:
    """The disputes this member may see, open ones first (oldest waiting first), then the newest decided."""
    query = visible_disputes(org_id, user, role)
    if status in DISPUTE_STATUSES:
        query = query.where(Dispute.status == status)
    query = (query.options(joinedload(Dispute.evaluation).joinedload(Evaluation.location),
                           joinedload(Dispute.evaluation).joinedload(Evaluation.journey),
                           joinedload(Dispute.question).joinedload(Question.moment))
             .order_by(case((Dispute.status == "open", 0), else_=1),
                       case((Dispute.status == "open", Dispute.opened_at), else_=None),
                       Dispute.decided_at.desc(), Dispute.id.desc()).limit(limit))
    rows = []
    for d in db.session.scalars(query).unique():
        e = d.evaluation
        rows.append(DisputeRow(d, STATUS_LABELS[d.status], f"{e.location.code} {e.location.name}", e.journey.name,
                               d.question.moment.name, d.question.text, e.started_at))
    return rows


def status_counts(org_id: int, user: User, role: str | None) -> dict[str, int]:
    sub = visible_disputes(org_id, user, role).subquery()
    return {status: int(n) for status, n in db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status))}


def open_count(org_id: int) -> int:
    """Open disputes of the organisation (for its reviewers)."""
    return int(db.session.scalar(select(func.count()).select_from(Dispute)
                                 .where(Dispute.org_id == org_id, Dispute.status == "open")) or 0)


def value_choices(question: Question) -> list[tuple[str, str]] | None:
    """The answers a reviewer may set, as (value, label); None for free text and numbers."""
    na = [] if question.key == VERDICT_KEY else [("na", "N/A (does not count)")]
    if question.type == "yes_no":
        return [("yes", "Yes"), ("no", "No"), *na]
    if question.type == "mnm":
        return [("miserable", "Miserable"), ("neutral", "Neutral"), ("magical", "Magical"), *na]
    if question.type == "rating":
        return [(str(n), f"{n} of 5") for n in range(1, 6)] + na
    if question.type == "choice":
        return [(o.label, o.label) for o in question.option_specs] + na
    if question.type == "photo":
        return na
    return None


def dispute_page(dispute: Dispute, role: str | None) -> dict:
    """Everything a dispute's page shows, as finished values: the answer, the thread, what the viewer may do."""
    evaluation, question = dispute.evaluation, dispute.question
    current = _answer(evaluation, dispute.moment_key, dispute.question_key)
    thread = [{"who": _who(dispute.opened_by), "at": dispute.opened_at, "what": _("Opened the dispute"),
               "text": dispute.reason, "evidence": dispute.evidence_kind}]
    for message in dispute.messages:
        thread.append({"who": _who(message.user), "at": message.at, "what": _("Wrote"), "text": message.body,
                       "evidence": ""})
    if dispute.status != "open":
        what = _("Declined it")
        if dispute.status == "accepted":
            what = _("Accepted it: the answer is now %(after)s (was %(before)s)",
                     after=display_value(question.type, dispute.value_after),
                     before=display_value(question.type, dispute.value_before))
        thread.append({"who": _who(dispute.decided_by), "at": dispute.decided_at, "what": what,
                       "text": dispute.decision_reason, "evidence": ""})
    managers = role in MANAGER_ROLES
    return {
        "dispute": dispute,
        "evaluation": evaluation,
        "status_label": STATUS_LABELS[dispute.status],
        "location": f"{evaluation.location.code} {evaluation.location.name}",
        "moment": question.moment.name,
        "question": question,
        "value_before": display_value(question.type, dispute.value_before),
        "value_now": display_value(question.type, current.value if current is not None else None),
        "thread": thread,
        "can_write": dispute.status == "open" and role in (*MANAGER_ROLES, *PLACE_ROLES),
        "can_decide": dispute.status == "open" and managers,
        "visit_endpoint": "visits.review_detail" if managers else "sites.visit",
    }


def visit_panel(evaluation: Evaluation, org: Organisation, user: User, role: str | None,
                now: datetime | None = None) -> dict:
    """A visit's disputes (for its page) and, for its site's managers while the window is open, what they may
    dispute: every question of the visit's journey version without an open dispute."""
    disputes = list(db.session.scalars(
        visible_disputes(org.id, user, role).where(Dispute.evaluation_id == evaluation.id)
        .options(joinedload(Dispute.question).joinedload(Question.moment)).order_by(Dispute.id)))
    window = window_for(evaluation, org, now)
    can_open = role in PLACE_ROLES and window.open
    choices = []
    if can_open:
        taken = {(d.moment_key, d.question_key) for d in disputes if d.status == "open"}
        answers = {(a.moment_key, a.question_key): a.value for a in evaluation.answers}
        for moment in evaluation.version.moments:
            for question in moment.questions:
                if (moment.key, question.key) not in taken:
                    shown = display_value(question.type, answers.get((moment.key, question.key)))
                    if question.type == "photo" and shown != "–":
                        shown = "N/A" if shown == "N/A" else _("a photo")
                    choices.append((f"{moment.key}.{question.key}",
                                    _("%(moment)s: %(question)s (answered: %(answer)s)", moment=moment.name,
                                      question=question.text, answer=shown)))
    return {"disputes": [{"dispute": d, "status_label": STATUS_LABELS[d.status], "moment": d.question.moment.name,
                          "question": d.question.text} for d in disputes],
            "window": replace(window, message=window_text(window, evaluation, org)), "can_open": can_open, "choices": choices,
            "open_count": sum(1 for d in disputes if d.status == "open")}


# --- the query rate -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryRate:
    location_id: int | None  # None for the total line
    code: str
    name: str
    region: str
    approved: int  # approved secret-shopper evaluations
    disputed: int  # of them, those with at least one dispute (open, accepted or declined)

    @property
    def rate(self) -> float | None:
        return self.disputed / self.approved if self.approved else None


def query_rates(org: Organisation, filters) -> tuple[list[QueryRate], QueryRate]:
    """Per location: disputed evaluations / approved secret-shopper evaluations under the dashboard's filters (the
    journey, period, location, region and place scope; always approved shopper visits, whatever the status and
    source filters say). One grouped query; the total line adds up its few rows."""
    from ..results.queries import evaluation_conditions

    terms = evaluation_conditions(org, replace(filters, status="approved", source=SCOPED_SOURCE))
    disputed = select(Dispute.evaluation_id).where(Dispute.org_id == org.id).distinct().subquery()
    rows = db.session.execute(
        select(Location.id, Location.code, Location.name, Location.region, func.count(Evaluation.id),
               func.count(disputed.c.evaluation_id))
        .select_from(Evaluation).join(Location, Location.id == Evaluation.location_id)
        .outerjoin(disputed, disputed.c.evaluation_id == Evaluation.id)
        .where(*terms).group_by(Location.id, Location.code, Location.name, Location.region)
        .order_by(Location.name, Location.code))
    lines = [QueryRate(location_id, code, name, region or "", int(n), int(d))
             for location_id, code, name, region, n, d in rows]
    total = QueryRate(None, "", "All locations", "", sum(r.approved for r in lines), sum(r.disputed for r in lines))
    return lines, total
