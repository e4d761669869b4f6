"""Demo step (auditapp/demo.py): three disputes from the demo's location manager of City Centre (site@demo.example),
one accepted, one declined and one still open, so the dispute pages, the visit pages and the query rate show
something. Each goes through the services, opened a day after its visit's approval (inside the window then)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select

from ..evaluations.models import Answer, Evaluation
from ..extensions import db
from ..journeys.models import Question
from ..timeutil import utcnow
from .services import add_message, decide_dispute, open_dispute

SITE = "site@demo.example"
MANAGER = "manager@demo.example"
# (decision, the site's reason, a message in the thread or "", the reviewer's reason)
STORIES = [
    ("accepted", "The till log and our camera show this was done: the shopper may have missed it while on the phone.",
     "Till log for that hour sent to the head office by mail.", "Checked the till log: agreed, corrected to yes."),
    ("declined", "The member of staff on duty says they did this; could the shopper have been at the other desk?",
     "", "The shopper's notes and timings are detailed and match the visit: the answer stands."),
    ("open", "It was the week of the new rota and the team was briefed the day before the visit. Please check again.",
     "Asked the shopper for their notes; I will decide this week.", ""),
]


def _failed_answer(evaluation: Evaluation, *, keep_story: bool) -> Answer | None:
    """A yes/no question answered no: what a site disputes. `keep_story`: not in "Asked to pay", whose falling score
    at City Centre is the demo's warning signal (an accepted dispute there would blur it)."""
    query = (select(Answer).join(Question, Question.id == Answer.question_id)
             .where(Answer.evaluation_id == evaluation.id, Question.type == "yes_no", Answer.value == "no")
             .order_by(Question.critical.desc(), Answer.id))
    if keep_story:
        found = db.session.scalar(query.where(Answer.moment_key != "payment").limit(1))
        if found is not None:
            return found
    return db.session.scalar(query.limit(1))


def add_demo_disputes(result, seed: int) -> None:
    site, manager = result.users.get(SITE), result.users.get(MANAGER)
    location = result.locations.get("001")
    if site is None or manager is None or location is None:
        return
    has_no = exists(select(Answer.id).join(Question, Question.id == Answer.question_id)
                    .where(Answer.evaluation_id == Evaluation.id, Question.type == "yes_no", Answer.value == "no"))
    # The most recently approved visits, oldest of them first: the open dispute is on the latest one.
    candidates = list(db.session.scalars(
        select(Evaluation).where(Evaluation.org_id == result.org.id, Evaluation.location_id == location.id,
                                 Evaluation.source == "shopper", Evaluation.status == "approved",
                                 Evaluation.reviewed_at.is_not(None), has_no)
        .order_by(Evaluation.reviewed_at.desc(), Evaluation.id.desc()).limit(len(STORIES))))[::-1]
    now = utcnow()
    made = []
    for evaluation, (decision, reason, message, verdict) in zip(candidates, STORIES, strict=False):
        answer = _failed_answer(evaluation, keep_story=decision == "accepted")
        # A day after the approval, an hour's talk, a decision the next day: squeezed for a visit approved just now.
        room = now - evaluation.reviewed_at
        opened = evaluation.reviewed_at + min(timedelta(days=1), room / 4)
        dispute = open_dispute(evaluation, site, "location_manager", moment_key=answer.moment_key,
                               question_key=answer.question_key, reason=reason, now=opened)
        if message:
            writer = site if decision == "accepted" else manager
            add_message(dispute, writer, "location_manager" if writer is site else "manager", message,
                        now=opened + min(timedelta(hours=1), room / 4))
        if decision != "open":
            decide_dispute(dispute, manager, "manager", decision=decision, reason=verdict,
                           value="yes" if decision == "accepted" else None,
                           now=opened + min(timedelta(days=1), room / 2))
        made.append(decision)
    if made:
        result.lines.append(f"Disputes: {len(made)} from the City Centre manager ({SITE}): "
                            + ", ".join(made) + ".")
