"""Demo step: six months of shopper visits and staff self-assessments, assignments in every state, review work.

Everything goes through the real services (submit_evaluation, the review decisions, the assignment services), so
scores, flags and history are what the product computes; only the clock is set back afterwards, because the demo
tells a story that happened over months. Deterministic for a given seed.

The story the dashboard should find:
- at City Centre (001) the dentist's "Asked to pay" moment degrades over the last five weeks (bills above the
  quote, long waits at the desk): a warning signal;
- staff rate "Arrival at the surgery" far higher than the shoppers do: a perception gap;
- a few evaluations are flagged (short visit, copied note, sent late, a reused photo, outside the visit window),
  some are rejected or returned with a comment, most older ones are approved.
"""
from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..auth.models import User
from ..evaluations.models import Evaluation
from ..extensions import db
from ..journeys.models import Journey, Moment, Question
from ..journeys.spec import VERDICT_KEY, parse_target
from ..locations.models import Location
from ..timeutil import local_today, to_naive_utc, utcnow, zone
from .integrity import check_late_submission, refresh_flags

DAYS = 182
DEGRADE_DAYS = 35  # the "asked to pay" moment at 001 falls apart over the last five weeks
NAMES = ("Anna", "Jonas", "Maria", "Erik", "Sofia", "Lars", "Elin", "Oskar", "Karin", "Nils", "Ida", "Omar")

# Quality 0..1 per moment (the chance things go well); tuned so the journeys have strong and weak moments.
BASE_QUALITY = {
    "booking_call": 0.72, "arrival": 0.62, "nurse_greeting": 0.82, "dentist_arrives": 0.78, "examination": 0.8,
    "escorted_back": 0.66, "payment": 0.78, "farewell": 0.74, "follow_up_call": 0.45,
    "online_booking": 0.7, "check_in": 0.8, "bag_drop": 0.6, "security": 0.55, "boarding": 0.58,
    "welcome_on_board": 0.85, "tray_table": 0.66, "onboard_service": 0.7, "arrival_bags": 0.5, "complaint": 0.42,
}
LOCATION_SHIFT = {"001": 0.04, "002": 0.0, "003": -0.08, "004": 0.08}
STAFF_SHIFT = 0.06  # staff are a little kinder to themselves everywhere...
STAFF_BLIND_SPOT = ("arrival", 0.4)  # ...and much kinder on the waiting room

GOOD_NOTES = {
    "booking_call": ["{name} answered on the second ring and offered a slot on {day}",
                     "Friendly call, {name} repeated the time and date back to me"],
    "arrival": ["Greeted by name within {n} seconds of walking in",
                "Waiting room tidy, {name} apologised for a {n} minute delay"],
    "nurse_greeting": ["Nurse {name} introduced herself and walked me through",
                       "{name} asked if I was comfortable before leaving the room"],
    "examination": ["The dentist explained every step and agreed a stop signal",
                    "Costs were explained before anything started, took about {n} minutes"],
    "payment": ["Bill matched the quote exactly, paid in under {n} seconds",
                "{name} at the desk printed an itemised receipt without being asked"],
    "farewell": ["{name} thanked me by name and held the door", "Warm goodbye from {name}, eye contact and a smile"],
    "follow_up_call": ["{name} called the next day at {hour} and asked how I felt"],
    "bag_drop": ["{name} at bag drop showed me the tag and smiled", "Only {n} minutes in the bag drop queue"],
    "boarding": ["Boarding started on time and families went first", "Gate agent {name} announced every step"],
    "welcome_on_board": ["Crew member {name} helped with my bag straight away"],
    "onboard_service": ["{name} knew the allergens in every snack", "Drinks came round within {n} minutes"],
    "arrival_bags": ["My bag was on the belt after {n} minutes", "Belt number shown as soon as we landed"],
    "complaint": ["Reply within {n} minutes and {name} took ownership of the case"],
}
BAD_NOTES = {
    "booking_call": ["Rang {n} times, then voicemail", "{name} sounded rushed and did not repeat the time"],
    "arrival": ["Stood at the desk {n} minutes before anyone looked up", "Waiting room chairs stained, no one explained the delay"],
    "escorted_back": ["Left to find my own way back to reception", "Nobody handed me over at the desk"],
    "payment": ["Bill was {n} euro above the quote and nobody explained why",
                "Waited {n} minutes at the desk to pay while {name} was on the phone",
                "Card taken out of sight, no itemised receipt offered",
                "Asked about the extra charge and {name} just shrugged"],
    "farewell": ["No goodbye at all, {name} was busy with the next patient"],
    "follow_up_call": ["No follow-up call at all", "Call came {n} days later and was read from a script"],
    "bag_drop": ["Queue of {n} minutes and only one desk open", "{name} did not look up once"],
    "security": ["{n} minutes in the security queue, trays sticky", "Staff shouted instructions at the queue"],
    "boarding": ["Boarding {n} minutes late and no explanation", "Gate changed twice without an announcement"],
    "tray_table": ["Tray table sticky, crumbs in the seat pocket", "Seat pocket full of old newspapers"],
    "arrival_bags": ["Waited {n} minutes for my bag, no belt number shown", "Bag arrived with a torn handle"],
    "complaint": ["No reply for {n} minutes, then a form letter", "Passed on three times, no reference number"],
}
OVERALL_NOTES = [
    "Busy {part} visit, {n} other customers around",
    "Quiet {part}; staff had time for everyone",
    "Visited on a rainy {part}, the team seemed short-handed",
    "{name} stood out: calm and friendly all the way through",
    "A mixed visit: strong start, weak finish",
    "Overall a pleasant {part}, would come back",
]
INSTRUCTIONS = {"dentist-visit": "Pay by card and ask about a check-up.",
                "airline-trip": "Check one bag and ask the crew about allergens."}
REJECT_REASONS = ["The shopper was recognised by the staff, so the visit is not anonymous.",
                  "Visited another branch by mistake: the answers do not belong to this location."]
RETURN_COMMENTS = ["Please add a note to the moments you rated miserable: what exactly happened?",
                   "Some times look odd (seconds or minutes?). Please check them against your notes.",
                   "Which member of staff was it? Add their first name to the notes if you can.",
                   "Was the follow-up call really missing? Please check your phone log."]


@dataclass
class _Visit:
    when: datetime  # naive UTC start
    journey: Journey
    location: Location
    user: User
    source: str
    late: bool = False
    short: bool = False
    degrade: float = 0.0  # 0..1: how far the payment problem at 001 has gone


def _clamp(value: float, low: float = 0.02, high: float = 0.98) -> float:
    return max(low, min(high, value))


class _Writer:
    """Makes notes that read like a person wrote them, each one unique unless a copy is meant."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def fill(self, template: str) -> str:
        rng = self.rng
        return template.format(name=rng.choice(NAMES), n=rng.randint(2, 25), day=rng.choice(("Monday", "Tuesday", "Thursday")),
                               hour=f"{rng.randint(9, 16)}:{rng.choice(('00', '15', '30', '45'))}",
                               part=rng.choice(("morning", "lunchtime", "afternoon")))

    def note(self, templates: list[str]) -> str:
        for _ in range(6):
            text = self.fill(self.rng.choice(templates))
            if text.casefold() not in self.used:
                self.used.add(text.casefold())
                return text
        return ""


def _verdict(quality: float, rng: random.Random) -> str:
    value = quality + rng.gauss(0, 0.08)
    return "magical" if value >= 0.72 else "neutral" if value >= 0.42 else "miserable"


def _value(question: Question, quality: float, rng: random.Random):
    ok = rng.random() < quality
    kind = question.type
    if kind == "yes_no":
        if question.critical:
            ok = rng.random() < max(quality, 0.9) if quality > 0.3 else ok
        return "yes" if ok else "no"
    if kind == "mnm":
        return _verdict(quality, rng)
    if kind == "rating":
        return max(1, min(5, round(1 + 4 * quality + rng.gauss(0, 0.6))))
    if kind == "number":
        if not question.target:
            return rng.randint(2, 30)
        operator, limit = parse_target(question.target)
        inside = rng.uniform(0.3, 1.0) * limit
        outside = rng.uniform(1.15, 2.5) * limit
        return round(inside if ok == (operator == "<=") else outside)
    if kind == "choice":
        scored = [(label, score) for label, score in (question.options or []) if score is not None]
        target = quality + rng.gauss(0, 0.15)
        return min(scored, key=lambda option: abs(option[1] - target))[0] if scored else question.options[0][0]
    return None  # text and photo: written separately


def _quality(moment: Moment, visit: _Visit, rng: random.Random) -> float:
    quality = BASE_QUALITY.get(moment.key, 0.7) + LOCATION_SHIFT.get(visit.location.code, 0.0)
    if visit.source == "staff":
        quality += STAFF_SHIFT + (STAFF_BLIND_SPOT[1] if moment.key == STAFF_BLIND_SPOT[0] else 0.0)
    if moment.key == "payment" and visit.degrade:
        quality -= 0.85 * min(1.0, 2.5 * visit.degrade) * (0.6 if visit.source == "staff" else 1.0)
    return _clamp(quality + rng.gauss(0, 0.1))


def _payload(visit: _Visit, rng: random.Random, writer: _Writer, now: datetime) -> dict:
    moments = list(visit.journey.current_version.moments)
    expected = sum(m.expected_seconds or 60 for m in moments)
    took = expected * (rng.uniform(0.15, 0.3) if visit.short else rng.uniform(0.85, 1.4))
    finished = min(visit.when + timedelta(seconds=took), now - timedelta(minutes=5))
    answers, moment_notes, durations = [], {}, {}
    stopwatch = rng.random() < 0.35
    for moment in moments:
        quality = _quality(moment, visit, rng)
        verdict = _verdict(quality, rng)
        for question in moment.questions:
            if question.key == VERDICT_KEY:
                value = verdict
            elif question.type in ("text", "photo"):
                continue
            elif not question.required and rng.random() < 0.15:
                continue  # people skip a few optional questions
            else:
                value = _value(question, quality, rng)
            answers.append({"moment": moment.key, "question": question.key, "value": value, "note": ""})
        pool = BAD_NOTES.get(moment.key) if verdict == "miserable" else GOOD_NOTES.get(moment.key) if verdict == "magical" else None
        if pool and rng.random() < (0.6 if verdict == "miserable" else 0.25):
            text = writer.note(pool)
            if text:
                moment_notes[moment.key] = text
        if stopwatch and moment.expected_seconds:
            durations[moment.key] = round(moment.expected_seconds * (rng.uniform(0.2, 0.35) if visit.short else rng.uniform(0.6, 1.5)))
    payload = {
        "client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "journey_id": visit.journey.id, "location_id": visit.location.id, "source": visit.source,
        "started_at": visit.when.isoformat() + "Z", "finished_at": finished.isoformat() + "Z",
        "notes": writer.note(OVERALL_NOTES) if rng.random() < 0.45 else "",
        "answers": answers, "moment_notes": moment_notes,
    }
    if durations:
        payload["durations"] = durations
    return payload


def _picture(rng: random.Random, colour: tuple[int, int, int]) -> bytes:
    """A small generated JPEG: a coloured card with a few light blocks, like a photographed receipt."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), colour)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(0, 280), rng.randint(0, 200)
        draw.rectangle((x, y, x + rng.randint(20, 60), y + rng.randint(10, 40)), fill=(250, 250, 245))
    data = io.BytesIO()
    image.save(data, "JPEG", quality=80)
    return data.getvalue()


def _plan_visits(result, rng: random.Random, now: datetime, today: date, tz) -> list[_Visit]:
    journeys = result.journeys
    dentist, airline = journeys["dentist-visit"], journeys["airline-trip"]
    shoppers = [u for email, u in sorted(result.users.items()) if email.startswith("shopper")]
    staff = {u.membership_in(result.org.id).location_id: u for email, u in result.users.items() if email.startswith("staff")}
    visits: list[_Visit] = []

    def at(day: date) -> datetime:
        local = datetime.combine(day, time(rng.randint(9, 16), rng.choice((0, 10, 20, 30, 40, 50))), tzinfo=tz)
        return to_naive_utc(local)

    first_day = today - timedelta(days=DAYS)
    for code, location in sorted(result.locations.items()):
        for journey, every in ((dentist, 3 if code == "001" else 10), (airline, 14)):
            day = first_day + timedelta(days=rng.randint(0, every))
            turn = rng.randrange(len(shoppers))
            while day < today:
                turn += rng.choice((1, 1, 2))  # shoppers take turns, never the same one twice in a row
                visits.append(_Visit(at(day), journey, location, shoppers[turn % len(shoppers)], "shopper"))
                day += timedelta(days=max(2, every + rng.randint(-2, 2)))
        member = staff.get(location.id)
        if member is not None:
            for journey, every in ((dentist, 10), (airline, 30)):
                day = first_day + timedelta(days=rng.randint(0, 6))
                while day < today:
                    visits.append(_Visit(at(day), journey, location, member, "staff"))
                    day += timedelta(days=every)
    visits = [v for v in visits if v.when < now - timedelta(hours=2)]
    for visit in visits:
        days_ago = (now - visit.when).days
        if visit.location.code == "001" and visit.journey is dentist and days_ago < DEGRADE_DAYS:
            visit.degrade = (DEGRADE_DAYS - days_ago) / DEGRADE_DAYS  # 0 five weeks ago, 1 today (full effect from three weeks ago)
    visits.sort(key=lambda v: v.when)
    shopper_visits = [v for v in visits if v.source == "shopper" and (now - v.when).days > 20]
    for visit in rng.sample(shopper_visits, 3):
        visit.late = True
    for visit in rng.sample(shopper_visits, 3):
        visit.short = True
    return visits


def add_demo_activity(result, seed: int) -> None:
    """Months of evaluations, assignments in every state, reviews (see the module docstring)."""
    from ..evaluations.services import submit_evaluation
    from . import review
    from .services import cancel_assignment, create_assignment, create_bulk, plan_bulk

    rng = random.Random(seed)
    org = result.org
    tz = zone(org.timezone)
    now = utcnow()
    today = local_today(org.timezone)
    manager = result.users["manager@demo.example"]
    writer = _Writer(rng)
    visits = _plan_visits(result, rng, now, today, tz)

    stored: list[tuple[_Visit, Evaluation, dict]] = []
    copied_from: list[str] = []
    copy_at, outside_at = _story_picks(visits, now)
    copies_due = 0
    for index, visit in enumerate(visits):
        payload = _payload(visit, rng, writer, now)
        if payload["moment_notes"] and len(copied_from) < 40:
            copied_from.extend(payload["moment_notes"].values())
        copies_due += index in copy_at
        if copies_due and visit.source == "shopper" and copied_from and index not in outside_at:
            # A shopper pastes an earlier visit's note word for word: the "copied note" flag.
            payload["notes"] = rng.choice(copied_from)
            copies_due -= 1
        assignment = None
        outside = index in outside_at
        if visit.source == "shopper" and (outside or ((now - visit.when).days < 120 and rng.random() < 0.7)):
            visit_day = visit.when.date()
            start = visit_day - timedelta(days=12 if outside else rng.randint(0, 6))
            assignment = create_assignment(org.id, location=visit.location, journey=visit.journey, shopper=visit.user,
                                           window_start=start, window_end=start + timedelta(days=7 if outside else 10),
                                           instructions=INSTRUCTIONS[visit.journey.library_slug], user=manager)
            assignment.created_at = visit.when - timedelta(days=14)
            assignment.status, assignment.started_at = "started", visit.when
            payload["assignment_id"] = assignment.id
        result_ = submit_evaluation(org.id, visit.user, visit.source, payload)
        evaluation = result_.evaluation
        sent = datetime.fromisoformat(payload["finished_at"].rstrip("Z")) + (
            timedelta(days=rng.uniform(3, 5)) if visit.late else timedelta(minutes=rng.randint(3, 240)))
        _set_sent(evaluation, min(sent, now))
        stored.append((visit, evaluation, payload))

    for _, evaluation, _ in stored:
        _recheck_late(evaluation)  # the service saw "now" as the sending time; the story's clock is set back
    _review(stored, manager, rng, now, review, submit_evaluation)
    _add_photos(org, stored, rng)
    assignments = _future_assignments(result, manager, rng, today, create_assignment, create_bulk, plan_bulk,
                                      cancel_assignment)
    db.session.flush()
    shopper_n = sum(1 for v, _, _ in stored if v.source == "shopper")
    result.lines.append(f"Evaluations: {len(stored)} over {DAYS // 30} months ({shopper_n} by shoppers, "
                        f"{len(stored) - shopper_n} staff self-assessments); {assignments} visits planned ahead.")


def _story_picks(visits: list[_Visit], now: datetime) -> tuple[set[int], set[int]]:
    """Which visits carry a copied note and which fall outside their visit window: chosen by position among the
    shopper visits of the right age, so the flags appear whatever the date (a random pick may miss them)."""
    shopper = [i for i, v in enumerate(visits) if v.source == "shopper" and 20 < (now - v.when).days < 120
               and not v.late and not v.short]
    copy_at = {shopper[len(shopper) // 4], shopper[(3 * len(shopper)) // 4]} if shopper else set()
    outside_at = {shopper[len(shopper) // 2], shopper[len(shopper) // 2 + 1]} if len(shopper) > 1 else set()
    return copy_at, outside_at


def _recheck_late(evaluation: Evaluation) -> None:
    """Only the "sent late" flag depends on the sending time; recomputing all flags would double the demo's time."""
    from ..evaluations.models import EvaluationFlag

    finding = check_late_submission(evaluation)
    for flag in [f for f in evaluation.flags if f.code == "late_submission"]:
        evaluation.flags.remove(flag)
    if finding is not None:
        evaluation.flags.append(EvaluationFlag(code=finding.code, detail=finding.detail))


def _set_sent(evaluation: Evaluation, sent: datetime) -> None:
    evaluation.submitted_at = sent
    for event in evaluation.events:
        if event.action == "submitted":
            event.at = sent


def _add_photos(org, stored, rng: random.Random) -> None:
    """Waiting-room photos on four recent dentist visits; the last one is the first one's picture sent again."""
    from flask import current_app, has_app_context

    from ..evaluations.models import Answer
    from ..evaluations.photos import PhotoError, save_photo

    if not has_app_context():
        return
    candidates = [(v, e) for v, e, _ in stored if v.source == "shopper" and v.journey.library_slug == "dentist-visit"
                  and e.revision == 1 and e.status in ("submitted", "approved")]
    if len(candidates) < 8:
        return
    picks = sorted(rng.sample(candidates[len(candidates) // 2:], 4), key=lambda pair: pair[1].id)
    pictures = [_picture(rng, (120 + 40 * n, 110, 100 - 20 * n)) for n in range(3)]
    pictures.append(pictures[0])  # the same picture from another visit: the "reused photo" flag
    for (visit, evaluation), data in zip(picks, pictures, strict=True):
        try:
            photo = save_photo(org.id, visit.user, data, current_app.config)
        except (PhotoError, OSError):
            return
        photo.evaluation_id = evaluation.id
        question = next(q for m in evaluation.version.moments if m.key == "arrival" for q in m.questions
                        if q.key == "waiting_area_photo")
        db.session.add(Answer(evaluation_id=evaluation.id, question_id=question.id, moment_key="arrival",
                              question_key="waiting_area_photo", value=photo.public_id))
    db.session.flush()
    for _, evaluation in picks:
        refresh_flags(evaluation)


def _review(stored, manager: User, rng: random.Random, now: datetime, review, submit_evaluation) -> None:
    """Approve most older shopper visits, reject a couple, return a few (one fixed and sent again)."""
    shopper = [(v, e, p) for v, e, p in stored if v.source == "shopper"]
    older = [item for item in shopper if (now - item[0].when).days > 12]
    flagged_first = sorted(older, key=lambda item: (not item[0].short, item[1].id))
    rejected = flagged_first[:1]
    rejected += rng.sample([item for item in older[len(older) // 3:] if item not in rejected], 1)
    recent = [item for item in shopper if 2 < (now - item[0].when).days <= 12]
    returned = rng.sample(recent, min(3, len(recent)))
    # The fix adds a note to the dentist's follow-up call: only a dentist visit has that moment.
    fixable = [item for item in older if item not in rejected and item[0].journey.library_slug == "dentist-visit"
               and not item[0].late and not item[0].short]
    fixed = rng.sample(fixable, 1)

    def at(visit_when: datetime, days: float) -> datetime:
        return min(visit_when + timedelta(days=days), now - timedelta(minutes=30))

    for reason, (visit, evaluation, _) in zip(REJECT_REASONS, rejected, strict=False):
        _stamp(review.reject(evaluation, manager, reason), evaluation, at(visit.when, rng.uniform(2, 6)))
    for comment, (visit, evaluation, _) in zip(RETURN_COMMENTS, returned, strict=False):
        _stamp(review.return_to_evaluator(evaluation, manager, comment), evaluation, at(visit.when, rng.uniform(1, 2)))
    for visit, evaluation, payload in fixed:
        _stamp(review.return_to_evaluator(evaluation, manager, RETURN_COMMENTS[-1]), evaluation, at(visit.when, 2))
        changed = dict(payload)
        changed["moment_notes"] = {**payload.get("moment_notes", {}),
                                   "follow_up_call": "Checked my phone: the call came two days later, not the next day"}
        changed["answers"] = [a if (a["moment"], a["question"]) != ("follow_up_call", "called") else {**a, "value": "yes"}
                              for a in payload["answers"]]
        outcome = submit_evaluation(evaluation.org_id, visit.user, "shopper", changed)
        evaluation.submitted_at = at(visit.when, 3)
        evaluation.events[-1].at = evaluation.submitted_at
        _stamp(review.approve(evaluation, manager, "Thanks for checking"), evaluation, at(visit.when, 4))
        assert outcome.resubmitted
    for visit, evaluation, _ in [item for item in stored if (now - item[0].when).days > 10]:
        # Flagged visits wait for a person to look at them; most others were approved in the weeks after.
        if evaluation.status == "submitted" and not evaluation.flags and rng.random() < 0.95:
            _stamp(review.approve(evaluation, manager), evaluation, at(visit.when, rng.uniform(1, 8)))


def _stamp(event, evaluation: Evaluation, when: datetime) -> None:
    event.at = when
    evaluation.reviewed_at = when


def _future_assignments(result, manager, rng, today, create_assignment, create_bulk, plan_bulk, cancel_assignment) -> int:
    """Next month planned for every location, this month's visits due, two overdue, one cancelled."""
    org = result.org
    dentist, airline = result.journeys["dentist-visit"], result.journeys["airline-trip"]
    shoppers = [u for email, u in sorted(result.users.items()) if email.startswith("shopper")]
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last_next = (first_next + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    plan = plan_bulk(org.id, dentist, [s.id for s in shoppers], (first_next, last_next))
    made = create_bulk(org.id, plan, "Book a check-up by phone first, then visit. Pay by card.", user=manager)
    locations = [result.locations[code] for code in sorted(result.locations)]
    count = len(made)
    for number, location in enumerate(locations):
        shopper = shoppers[(number + 1) % len(shoppers)]
        due = create_assignment(org.id, location=location, journey=airline, shopper=shopper, window_start=today - timedelta(days=3),
                                window_end=today + timedelta(days=10), instructions="Check one bag; note the belt number.",
                                user=manager)
        count += 1
        if number == 0:
            due.status, due.started_at = "started", utcnow() - timedelta(hours=3)
        if number == 3:
            cancel_assignment(due, manager)
    for number, location in enumerate(locations[:2]):
        late = create_assignment(org.id, location=location, journey=dentist, shopper=shoppers[number],
                                 window_start=today - timedelta(days=20), window_end=today - timedelta(days=4 + number),
                                 instructions="Ask for the price of a cleaning before you book.", user=manager)
        if number == 1:
            late.status, late.started_at = "started", utcnow() - timedelta(days=6)
        count += 1
    return count
