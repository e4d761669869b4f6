"""Ready-made notices: each gathers what its mail says and queues one message per recipient (flushes only).

Callers run these inside the transaction of the change they announce and commit as usual; the messages go out
right after that commit (or with `flask send-mail`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale, gettext

from ..auth.models import Organisation, User
from ..extensions import db
from ..i18n import DEFAULT_UI_LANGUAGE, UI_LANGUAGES
from ..scoring.rules import score_band, score_text
from ..timeutil import to_local
from . import messages
from .models import OutboxMessage
from .outbox import is_muted, queue, queue_to_address
from .recipients import org_managers, site_managers
from .urls import absolute_url


def _settings_url() -> str:
    return absolute_url("notify.settings")


def in_language_of(user: User, build: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """(subject, body) written in the language the user picked for the interface (English when none)."""
    with force_locale(user.language if user.language in UI_LANGUAGES else DEFAULT_UI_LANGUAGE):
        return build()


def _queue_all(kind: str, recipients: Iterable[User], build: Callable[[], tuple[str, str]], *, key: str,
               org_id: int) -> list[OutboxMessage]:
    """One message per recipient, each user once, each in their own language; `key` gets ":<user id>" appended."""
    queued, seen = [], set()
    for user in recipients:
        if user.id in seen:
            continue
        seen.add(user.id)
        subject, body = in_language_of(user, build)
        message = queue(kind, user, subject, body, key=f"{key}:{user.id}", org_id=org_id)
        if message is not None:
            queued.append(message)
    return queued


# --- critical fails (wired into evaluations.services.submit_evaluation) ---------------------------------------------


def notify_critical_fail(evaluation, written=None) -> list[OutboxMessage]:
    """A stored or resubmitted evaluation with a critical fail: mail the organisation's managers (org_managers); the
    site's own managers hear of it once it is approved (notify_critical_fail_approved).

    Only secret-shopper evaluations notify: a staff self-assessment is coaching, not an audit finding. The evaluator
    is not told about their own visit. One notice per evaluation and recipient (key
    "critical_fail:<evaluation id>:<user id>"): a fixed and resubmitted evaluation that still fails is not announced
    again, one that fails only after the fix is.

    `written` is what the submission service has just inserted (checklist, answer rows, moment result rows): the
    failures are then found in memory instead of in the rows read back.
    """
    if evaluation.source != "shopper" or is_muted():
        return []
    failures = _failures_written(*written) if written is not None else _failures_stored(evaluation)
    if failures is None:
        return []
    recipients = [user for user in org_managers(evaluation.org_id) if user.id != evaluation.evaluator_id]
    if not recipients:
        return []  # nobody to tell: the organisation is not read
    org = db.session.get(Organisation, evaluation.org_id)
    build = _critical_fail_mail(evaluation, org, failures, absolute_url("visits.review_detail", evaluation_id=evaluation.id))
    return _queue_all("critical_fail", recipients, build, key=f"critical_fail:{evaluation.id}", org_id=org.id)


def _critical_fail_mail(evaluation, org: Organisation, failures: list[messages.CriticalFailure],
                        review_url: str) -> Callable[[], tuple[str, str]]:
    """The critical-fail mail of an evaluation, to be written in each recipient's language."""
    location = evaluation.location
    visit = to_local(evaluation.started_at, org.timezone)
    band = score_band(evaluation.score, org.bands)
    settings_url = _settings_url()

    def build() -> tuple[str, str]:
        return messages.critical_fail_mail(
            org_name=org.name, location=f"{location.code} {location.name}", journey=evaluation.journey.name,
            visit_time=f"{visit:%Y-%m-%d %H:%M} ({org.timezone or 'UTC'})",
            score=score_text(evaluation.score, org.bands) + (f" ({gettext(band)})" if band else ""),
            failures=failures, review_url=review_url, settings_url=settings_url)

    return build


def _failures_stored(evaluation) -> list[messages.CriticalFailure] | None:
    """The critical questions failed in each critically failed moment; None when no moment failed."""
    failed = [result for result in evaluation.moment_results if result.critical_fail]
    if not failed:
        return None
    # The failed moments and their questions in two queries, not one per answer; held here so they stay loaded.
    held = _moments_with_questions([result.moment_id for result in failed])  # noqa: F841
    failures = []
    for result in failed:
        for answer in evaluation.answers:
            if answer.moment_key == result.moment_key and answer.question is not None and answer.question.critical \
                    and answer.score == 0:
                failures.append(messages.CriticalFailure(
                    moment=result.moment.name, question=answer.question.text, answer=answer.value or "", note=answer.note or ""))
    return failures


def _failures_written(checklist, answers: list[dict], results: list[dict]) -> list[messages.CriticalFailure] | None:
    """_failures_stored of a just-inserted evaluation, from its checklist and rows (auditapp.evaluations.services)."""
    failed = [result["moment_key"] for result in results if result["critical_fail"]]
    if not failed:
        return None
    names = {moment.key: moment.name for moment in checklist.moments}
    questions = {question.id: question for moment in checklist.moments for question in moment.questions}
    failures = []
    for moment_key in failed:
        for answer in answers:
            question = questions.get(answer["question_id"])
            if answer["moment_key"] == moment_key and question is not None and question.critical and answer["score"] == 0:
                failures.append(messages.CriticalFailure(moment=names[moment_key], question=question.text,
                                                         answer=answer["value"] or "", note=answer["note"] or ""))
    return failures


def _moments_with_questions(moment_ids: list[int]) -> list:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from ..journeys.models import Moment

    return list(db.session.scalars(select(Moment).where(Moment.id.in_(moment_ids)).options(selectinload(Moment.questions))))


def notify_critical_fail_approved(evaluation) -> list[OutboxMessage]:
    """An approved secret-shopper visit with a critical fail: mail the site's own managers (site_managers), who see
    only reviewed visits, with a link to the visit's page on the sites' side. Same key as at submission, so each
    person hears of a visit once."""
    if evaluation.source != "shopper" or evaluation.status != "approved" or is_muted():
        return []
    failures = _failures_stored(evaluation)
    if failures is None:
        return []
    org = db.session.get(Organisation, evaluation.org_id)
    build = _critical_fail_mail(evaluation, org, failures, absolute_url("sites.visit", evaluation_id=evaluation.id))
    recipients = site_managers(org.id, evaluation.location_id)
    return _queue_all("critical_fail", recipients, build, key=f"critical_fail:{evaluation.id}", org_id=org.id)


# --- disputes (for the disputes work: plain arguments, no Dispute model needed) -------------------------------------


def notify_dispute_opened(*, org_id: int, dispute_id: int, evaluation_id: int, location_name: str, journey_name: str,
                          moment_name: str, question_text: str, reason: str, opened_by_name: str,
                          recipients: Iterable[User], link: str | None = None) -> list[OutboxMessage]:
    """A dispute was opened: tell the other side, `recipients` (usually recipients.org_managers(org_id)).

    `link` defaults to the evaluation's review page. Key "dispute_opened:<dispute id>:<user id>"."""
    org = db.session.get(Organisation, org_id)
    link, settings_url = link or absolute_url("visits.review_detail", evaluation_id=evaluation_id), _settings_url()

    def build() -> tuple[str, str]:
        return messages.dispute_opened_mail(
            org_name=org.name, location=location_name, journey=journey_name, moment=moment_name,
            question=question_text, reason=reason, opened_by=opened_by_name, link=link, settings_url=settings_url)

    return _queue_all("dispute_opened", recipients, build, key=f"dispute_opened:{dispute_id}", org_id=org_id)


def notify_dispute_decided(*, org_id: int, dispute_id: int, location_name: str, journey_name: str, moment_name: str,
                           question_text: str, decision: str, reason: str, decided_by_name: str,
                           recipients: Iterable[User], link: str | None = None) -> list[OutboxMessage]:
    """A dispute was decided ("accepted" or "declined"): tell the side that opened it, `recipients`.

    `link`: where the recipient can see the outcome (none by default: the opener may not see the review page).
    Key "dispute_decided:<dispute id>:<user id>"."""
    if decision not in ("accepted", "declined"):
        raise ValueError("decision must be 'accepted' or 'declined'")
    org = db.session.get(Organisation, org_id)
    settings_url = _settings_url()

    def build() -> tuple[str, str]:
        return messages.dispute_decided_mail(
            org_name=org.name, location=location_name, journey=journey_name, moment=moment_name,
            question=question_text, decision=decision, reason=reason, decided_by=decided_by_name, link=link,
            settings_url=settings_url)

    return _queue_all("dispute_decided", recipients, build, key=f"dispute_decided:{dispute_id}", org_id=org_id)


# --- actions (for the corrective-actions work) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionNotice:
    """What an action mail says; `ActionNotice.of(action)` reads it from results.models.Action."""

    org_id: int
    action_id: int
    idea: str
    due_date: date
    journey_name: str = ""
    moment_name: str = ""
    location_name: str = ""

    @classmethod
    def of(cls, action) -> ActionNotice:
        if isinstance(action, cls):
            return action
        journey = getattr(action, "journey", None)
        moment_name = action.moment_key
        version = getattr(journey, "current_version", None)
        if version is not None:
            moment_name = next((m.name for m in version.moments if m.key == action.moment_key), action.moment_key)
        location = getattr(action, "location", None)
        return cls(org_id=action.org_id, action_id=action.id, idea=action.idea, due_date=action.due_date,
                   journey_name=getattr(journey, "name", ""), moment_name=moment_name,
                   location_name=f"{location.code} {location.name}" if location is not None else "")


def _action_link(notice: ActionNotice, link: str | None) -> str:
    return link or absolute_url("results.action_detail", action_id=notice.action_id)


def notify_action_due(action, owner: User, *, link: str | None = None) -> OutboxMessage | None:
    """Remind `owner` that the action (an Action or ActionNotice) is due. Once per action, due date and owner: key
    "action_due:<action id>:<due date>:<user id>"; moving the due date reminds again."""
    notice = ActionNotice.of(action)
    org = db.session.get(Organisation, notice.org_id)
    link, settings_url = _action_link(notice, link), _settings_url()
    subject, body = in_language_of(owner, lambda: messages.action_due_mail(
        org_name=org.name, idea=notice.idea, due_date=notice.due_date, journey=notice.journey_name,
        moment=notice.moment_name, location=notice.location_name, link=link, settings_url=settings_url))
    return queue("action_due", owner, subject, body, key=f"action_due:{notice.action_id}:{notice.due_date}:{owner.id}",
                 org_id=notice.org_id)


def notify_action_overdue(action, owner: User, *, today: date, link: str | None = None) -> OutboxMessage | None:
    """Tell `owner` the action is overdue. At most once per action, owner and day `today` (the organisation's local
    date): key "action_overdue:<action id>:<today>:<user id>"; how often to repeat is the caller's choice."""
    notice = ActionNotice.of(action)
    org = db.session.get(Organisation, notice.org_id)
    link, settings_url = _action_link(notice, link), _settings_url()
    subject, body = in_language_of(owner, lambda: messages.action_overdue_mail(
        org_name=org.name, idea=notice.idea, due_date=notice.due_date, today=today, journey=notice.journey_name,
        moment=notice.moment_name, location=notice.location_name, link=link, settings_url=settings_url))
    return queue("action_overdue", owner, subject, body, key=f"action_overdue:{notice.action_id}:{today}:{owner.id}",
                 org_id=notice.org_id)


# --- account mail -----------------------------------------------------------------------------------------------------


def queue_invite_mail(invite, link: str) -> OutboxMessage | None:
    """The invite link by mail; the body is blanked once sent (the link is single-use)."""
    subject, body = messages.invite_mail(org_name=invite.organisation.name, link=link,
                                         expires=f"{invite.expires_at:%Y-%m-%d %H:%M} UTC")
    return queue_to_address("invite", invite.email, subject, body, key=f"invite:{invite.id}", org_id=invite.org_id,
                            secret_body=True)
