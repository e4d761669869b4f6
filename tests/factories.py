"""Test data builders. Each returns the flushed object; tests commit when they need to."""
from __future__ import annotations

import itertools

from auditapp.auth.services import add_user, create_api_token, get_or_create_org
from auditapp.extensions import db
from auditapp.locations.models import Location

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


class Factory:
    def org(self, name: str | None = None, slug: str | None = None, timezone: str = "UTC"):
        n = next(_seq)
        org = get_or_create_org(name or f"Org {n}", slug or f"org-{n}", timezone)
        db.session.commit()
        return org

    def user(self, org, role: str = "admin", email: str | None = None, name: str | None = None,
             password: str = PASSWORD, location=None, places=(), regions=()):
        """`location`: a staff member's location; `places`: a location manager's locations; `regions`: a regional
        manager's region names."""
        n = next(_seq)
        user = add_user(org, email or f"{role}{n}@example.com", name or f"{role.title()} {n}", password, role,
                        location_id=getattr(location, "id", None), location_ids=[p.id for p in places],
                        regions=list(regions))
        db.session.commit()
        return user

    def token(self, user, org=None) -> str:
        _, raw = create_api_token(user, (org or user.memberships[0].organisation).id, "test")
        db.session.commit()
        return raw

    def location(self, org, code: str | None = None, name: str | None = None, region: str = "North"):
        n = next(_seq)
        location = Location(org_id=org.id, code=code or f"L{n:03d}", name=name or f"Branch {n}", region=region)
        db.session.add(location)
        db.session.commit()
        return location


def sample_spec(name: str = "Café order"):
    """A small journey that uses every question type; verdicts are added on creation."""
    from auditapp.journeys.spec import JourneySpec, MomentSpec, OptionSpec, QuestionSpec

    return JourneySpec(name=name, description="Ordering a coffee at the counter", moments=[
        MomentSpec(key="greeting", name="Greeting at the door", channel="face_to_face", kind="basic", priority=True,
                   weight=2.0, expected_seconds=30, questions=[
                       QuestionSpec(key="greeted", text="Were you greeted within 30 seconds?", type="yes_no",
                                    required=True),
                       QuestionSpec(key="smile", text="How warm was the welcome?", type="rating", weight=2.0),
                   ]),
        MomentSpec(key="order", name="Ordering", channel="face_to_face", kind="decisive", priority=True,
                   expected_seconds=120, questions=[
                       QuestionSpec(key="wait", text="Seconds waited before ordering", type="number", target="<=120"),
                       QuestionSpec(key="speed", text="How quick was it?", type="choice", options=(
                           OptionSpec("Quick", 1.0), OptionSpec("Slow", 0.0), OptionSpec("Did not notice", None))),
                       QuestionSpec(key="clean", text="Counter clean and tidy?", type="yes_no", critical=True),
                   ]),
        MomentSpec(key="farewell", name="Farewell", channel="face_to_face", kind="basic", questions=[
            QuestionSpec(key="mood", text="How did leaving feel?", type="mnm"),
            QuestionSpec(key="comment", text="What did they say?", type="text"),
            QuestionSpec(key="receipt", text="Photo of the receipt", type="photo"),
        ]),
    ])


def _journey(self, org, spec=None, name: str | None = None):
    from auditapp.journeys.services import create_journey_from_spec

    journey = create_journey_from_spec(org.id, spec or sample_spec(name or "Café order"))
    db.session.commit()
    return journey


Factory.journey = _journey


_DEFAULT_VALUES = {"yes_no": "yes", "mnm": "neutral", "rating": 4, "number": 1, "text": "Fine"}


def _evaluation(self, org, journey, location, user, answers=None, **kw):
    """Submit a valid evaluation through submit_evaluation and commit; returns the Evaluation.

    - `answers`: {"moment.question": value} merged over the defaults, which answer every required question
      (verdicts "neutral", yes_no "yes", rating 4, number 1, choice its first option, text "Fine"); a value of
      None leaves that question out. Notes: {"moment.question": (value, "note")}.
    - `role`: the role to submit as (default: the user's role in `org`).
    - `status`: set after submitting ("approved", "rejected", "returned") to stage review states.
    - any other keyword goes into the payload as is, e.g. `source`, `client_uuid`, `notes`, `durations`,
      `moment_notes`, `assignment_id`, `started_at`/`finished_at` (datetimes or ISO text; default an hour ago).
    """
    import uuid
    from datetime import datetime, timedelta

    from auditapp.evaluations.services import submit_evaluation
    from auditapp.timeutil import utcnow

    role = kw.pop("role", None) or user.membership_in(org.id).role
    status = kw.pop("status", None)
    merged = {}
    for moment in journey.current_version.moments:
        for question in moment.questions:
            if question.required:
                value = _DEFAULT_VALUES.get(question.type)
                if question.type == "choice" and question.options:
                    value = question.options[0][0]
                merged[f"{moment.key}.{question.key}"] = value
    merged.update(answers or {})
    answer_list = []
    for name, value in merged.items():
        note = ""
        if isinstance(value, tuple):
            value, note = value
        if value is None and not note:
            continue
        moment_key, _, question_key = name.partition(".")
        answer_list.append({"moment": moment_key, "question": question_key, "value": value, "note": note})
    started = kw.pop("started_at", None) or utcnow() - timedelta(hours=1)
    finished = kw.pop("finished_at", None) or (started + timedelta(minutes=10) if isinstance(started, datetime) else None)
    payload = {
        "client_uuid": str(uuid.uuid4()),
        "journey_id": journey.id,
        "location_id": location.id,
        "source": "staff" if role == "staff" else "shopper",
        "started_at": started.isoformat() if isinstance(started, datetime) else started,
        "finished_at": finished.isoformat() if isinstance(finished, datetime) else finished,
        "answers": answer_list,
        **kw,
    }
    result = submit_evaluation(org.id, user, role, payload)
    if status:
        result.evaluation.status = status
    db.session.commit()
    return result.evaluation


Factory.evaluation = _evaluation
