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


def photo_like_jpeg(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A JPEG as heavy as a phone photo (shapes, blur and sensor-like noise): about 700 KB at 1600 x 1200,
    about 120 KB once shrunk for print. Flat test images would compress to nothing and prove nothing about size."""
    import io
    import random

    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    width, height = size
    image = Image.blend(Image.linear_gradient("L").resize(size).convert("RGB"),
                        Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))), 0.6)
    draw = ImageDraw.Draw(image)
    for _ in range(150):
        x, y = rnd.randrange(width), rnd.randrange(height)
        box = [x, y, x + rnd.randrange(30, 400), y + rnd.randrange(30, 300)]
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=colour)
    image = Image.blend(image.filter(ImageFilter.GaussianBlur(1)), Image.effect_noise(size, 40).convert("RGB"), 0.5)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


def ten_moment_spec(name: str = "Airport journey"):
    """Ten moments over every channel, each with a critical yes/no, a rating, a text and a photo question (the first
    two moments a second photo question too)."""
    from auditapp.journeys.spec import CHANNELS, JourneySpec, MomentSpec, QuestionSpec

    channels = list(CHANNELS)
    return JourneySpec(name=name, moments=[
        MomentSpec(key=f"m{i}", name=f"Moment {i} of the trip", channel=channels[(i - 1) % len(channels)],
                   kind="decisive" if i % 3 == 0 else "basic", priority=i in (2, 5, 9), expected_seconds=60 * i,
                   questions=[
                       QuestionSpec(key="ok", text=f"Was step {i} done right?", type="yes_no", required=True,
                                    critical=True),
                       QuestionSpec(key="rate", text=f"How good was step {i}?", type="rating"),
                       QuestionSpec(key="say", text="What was said?", type="text"),
                       QuestionSpec(key="pic", text=f"Photo of step {i}", type="photo"),
                       *([QuestionSpec(key="pic2", text=f"Second photo of step {i}", type="photo")] if i <= 2 else []),
                   ])
        for i in range(1, 11)
    ])


def _visit_with_photos(self, org, shopper, location, *, photos: int = 6, config=None, **kw):
    """A submitted 10-moment visit (ten_moment_spec) with `photos` (at most 12) phone-sized photos on its first
    moments (two each on the first two), notes on every moment and a duration for each; returns the Evaluation."""
    from flask import current_app

    from auditapp.evaluations.photos import save_photo

    journey = self.journey(org, ten_moment_spec())
    answers = {}
    for i in range(1, 11):
        answers[f"m{i}.ok"] = "no" if i == 4 else "yes"
        answers[f"m{i}.rate"] = (i % 5) + 1
        answers[f"m{i}.say"] = (f"They said step {i} was fine", f"Note on step {i}: queue of {i} people")
        answers[f"m{i}.verdict"] = ("miserable", "neutral", "magical")[i % 3]
    slots = ["m1.pic", "m1.pic2", "m2.pic", "m2.pic2"] + [f"m{i}.pic" for i in range(3, 11)]
    for n, slot in enumerate(slots[:photos], start=1):
        photo = save_photo(org.id, shopper, photo_like_jpeg(n), config or current_app.config)
        answers[slot] = (photo.public_id, f"Photo note {n}")
    db.session.commit()
    durations = {f"m{i}": 45.0 * i + 7 for i in range(1, 11)}
    return self.evaluation(org, journey, location, shopper, answers=answers, durations=durations,
                           moment_notes={f"m{i}": f"Moment note {i}" for i in range(1, 11)}, **kw)


Factory.visit_with_photos = _visit_with_photos
