"""Integrity flags: each one raised by a case built for it, none on a normal evaluation."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from auditapp.evaluations.models import EvaluationFlag, Photo
from auditapp.extensions import db
from auditapp.timeutil import local_today, utcnow
from auditapp.visits.integrity import note_digest, refresh_flags
from auditapp.visits.review import return_to_evaluator
from auditapp.visits.services import create_assignment
from tests.clock import on_frozen_dates


@pytest.fixture
def world(make):
    org = make.org(timezone="Europe/Stockholm")
    shopper = make.user(org, "shopper", email="sam@example.com")
    other = make.user(org, "shopper", email="kim@example.com")
    location = make.location(org)
    journey = make.journey(org)  # expected: greeting 30 s + order 120 s = 150 s
    return type("World", (), dict(org=org, shopper=shopper, other=other, location=location, journey=journey))


def submit(make, world, user=None, **kw):
    return make.evaluation(world.org, world.journey, world.location, user or world.shopper, **kw)


def codes(evaluation) -> list[str]:
    db.session.refresh(evaluation)
    return sorted(f.code for f in evaluation.flags)


def test_normal_evaluation_has_no_flags(world, make):
    first = submit(make, world, notes="The coffee was hot and the staff smiled a lot")
    second = submit(make, world, user=world.other, notes="Quiet morning, the barista recommended a new roast",
                    answers={"greeting.greeted": ("yes", "Greeted with a smile right away")})
    assert codes(first) == [] and codes(second) == []


def test_flags_are_stored_by_the_submit_service(world, make):
    start = utcnow() - timedelta(hours=2)
    evaluation = submit(make, world, started_at=start, finished_at=start + timedelta(seconds=30))
    flags = db.session.scalars(select(EvaluationFlag).where(EvaluationFlag.evaluation_id == evaluation.id)).all()
    assert [f.code for f in flags] == ["short_visit"]
    assert "30 s" in flags[0].detail and "2 min" in flags[0].detail


def test_short_visit_uses_the_longest_known_measure(world, make):
    start = utcnow() - timedelta(hours=2)
    # Stopwatch on one moment only (10 s) but the whole visit took 10 minutes: not short.
    long_visit = submit(make, world, started_at=start, finished_at=start + timedelta(minutes=10), durations={"greeting": 10})
    assert codes(long_visit) == []
    # Stopwatch total 40 s and no finish time: short (under 60 s).
    stopwatch_only = submit(make, world, started_at=start, durations={"greeting": 15, "order": 25})
    assert codes(stopwatch_only) == []  # the factory's visit lasts 10 minutes
    stopwatch_only.finished_at = None
    assert [f.code for f in refresh_flags(stopwatch_only)] == ["short_visit"]
    # Exactly 40 % (60 s) is not short.
    borderline = submit(make, world, started_at=start, finished_at=start + timedelta(seconds=60))
    assert codes(borderline) == []


def test_finished_before_start(world, make):
    start = utcnow() - timedelta(hours=1)
    evaluation = submit(make, world, started_at=start, finished_at=start - timedelta(minutes=5))
    assert codes(evaluation) == ["finished_before_start"]


@on_frozen_dates
def test_late_submission(world, make):
    visit = utcnow() - timedelta(days=4)
    late = submit(make, world, started_at=visit, finished_at=visit + timedelta(minutes=10))
    assert codes(late) == ["late_submission"]
    assert "days after the visit" in late.flags[0].detail
    in_time = submit(make, world, started_at=utcnow() - timedelta(hours=47), finished_at=utcnow() - timedelta(hours=46))
    assert codes(in_time) == []


@on_frozen_dates
def test_outside_window(world, make):
    today = local_today(world.org.timezone)
    later = create_assignment(world.org.id, location=world.location, journey=world.journey, shopper=world.shopper,
                              window_start=today + timedelta(days=5), window_end=today + timedelta(days=10))
    now = create_assignment(world.org.id, location=world.location, journey=world.journey, shopper=world.shopper,
                            window_start=today - timedelta(days=1), window_end=today + timedelta(days=1))
    db.session.commit()
    outside = submit(make, world, assignment_id=later.id)
    assert codes(outside) == ["outside_window"]
    inside = submit(make, world, assignment_id=now.id)
    assert codes(inside) == []


@on_frozen_dates
def test_a_fix_sent_days_later_is_not_a_late_visit_report(world, make, frozen_clock):
    """Late means the first sending came more than two days after the visit; fixing it later does not count."""
    evaluation = submit(make, world, notes="First version")  # the visit an hour ago, sent now
    return_to_evaluator(evaluation, make.user(world.org, "manager"), "Check the notes")
    db.session.commit()
    frozen_clock.shift(timedelta(days=5))
    fixed = submit(make, world, client_uuid=evaluation.client_uuid, notes="Fixed version",
                   started_at=evaluation.started_at, finished_at=evaluation.finished_at)
    assert fixed.id == evaluation.id and fixed.revision == 2 and fixed.submitted_at == utcnow()
    assert codes(fixed) == []


def test_copied_note_word_for_word_after_trimming_and_case(world, make):
    original = submit(make, world, notes="The receptionist was very friendly and quick today")
    copy = submit(make, world, user=world.other,
                  moment_notes={"order": "  the RECEPTIONIST was very   friendly and quick today "})
    assert codes(original) == []
    assert codes(copy) == ["copied_note"]
    assert f"evaluation #{original.id}" in copy.flags[0].detail and "Ordering" in copy.flags[0].detail


def test_copied_answer_note_and_short_notes_do_not_count(world, make):
    submit(make, world, answers={"greeting.greeted": ("yes", "All good")},
           moment_notes={"farewell": "Waved goodbye from behind the counter"})
    same_short = submit(make, world, answers={"greeting.greeted": ("yes", "All good")})
    assert codes(same_short) == []
    copied = submit(make, world, answers={"greeting.greeted": ("yes", "Waved goodbye from behind the counter")})
    assert codes(copied) == ["copied_note"]


def test_note_digest_rules():
    assert note_digest("short") is None
    assert note_digest("  Exactly twenty chars ") == note_digest("exactly   TWENTY chars")
    assert note_digest("exactly twenty chars") is not None


def _photo(org, user, evaluation, content: bytes) -> Photo:
    photo = Photo(public_id=str(uuid.uuid4()), org_id=org.id, uploader_id=user.id, evaluation_id=evaluation.id,
                  path="x.jpg", sha256=hashlib.sha256(content).hexdigest(), width=1, height=1, size_bytes=1)
    db.session.add(photo)
    db.session.flush()
    return photo


def test_reused_photo(world, make):
    first = submit(make, world)
    second = submit(make, world, user=world.other)
    third = submit(make, world)
    _photo(world.org, world.shopper, first, b"receipt")
    _photo(world.org, world.other, second, b"receipt")
    _photo(world.org, world.shopper, third, b"another picture")
    assert [f.code for f in refresh_flags(second)] == ["reused_photo"]
    assert f"#{first.id}" in second.flags[0].detail
    assert refresh_flags(third) == []


def test_photo_in_another_organisation_does_not_count(world, make):
    mine = submit(make, world)
    other_org = make.org()
    stranger = make.user(other_org, "shopper")
    theirs = make.evaluation(other_org, make.journey(other_org), make.location(other_org), stranger)
    _photo(other_org, stranger, theirs, b"same bytes")
    _photo(world.org, world.shopper, mine, b"same bytes")
    assert refresh_flags(mine) == []


def test_refresh_replaces_the_flags(world, make):
    start = utcnow() - timedelta(hours=2)
    evaluation = submit(make, world, started_at=start, finished_at=start + timedelta(seconds=20))
    assert codes(evaluation) == ["short_visit"]
    evaluation.finished_at = start + timedelta(minutes=20)
    refresh_flags(evaluation)
    db.session.commit()
    assert codes(evaluation) == []
    assert db.session.scalars(select(EvaluationFlag)).all() == []
