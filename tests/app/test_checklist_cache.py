"""The per-process checklist cache of submissions (auditapp/journeys/checklist.py): only frozen versions, never stale."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from auditapp.evaluations.services import SubmissionError, submit_evaluation
from auditapp.extensions import db
from auditapp.journeys import checklist as checklists
from auditapp.journeys.models import Question
from tests.app.test_submit_service import full_payload


@pytest.fixture
def world(make):
    checklists.clear_cache()
    org = make.org()
    shopper = make.user(org, "shopper")
    journey = make.journey(org)
    location = make.location(org)
    db.session.commit()
    yield org, shopper, journey, location
    checklists.clear_cache()


def _moment_queries(run) -> int:
    seen: list[str] = []

    def note(*args):
        seen.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    return sum(1 for sql in seen if re.search(r"FROM moment\b", sql))  # not moment_result


def test_a_version_without_evaluations_is_read_each_time(world):
    org, shopper, journey, location = world
    version = journey.current_version
    assert _moment_queries(lambda: checklists.checklist(version)) == 1
    assert _moment_queries(lambda: checklists.checklist(version)) == 1  # it may still be edited in place


def test_a_published_version_with_evaluations_is_cached(world):
    org, shopper, journey, location = world
    submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    db.session.commit()
    version = journey.current_version
    checklists.checklist(version)
    assert _moment_queries(lambda: checklists.checklist(version)) == 0
    assert _moment_queries(lambda: submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))) == 0


def test_an_edit_flushed_in_this_process_empties_the_cache(world):
    org, shopper, journey, location = world
    submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    db.session.commit()
    version = journey.current_version
    checklists.checklist(version)
    # Bypassing versioning (which would make a draft): the cache must still not answer with the old checklist.
    question = db.session.scalar(sa.select(Question).where(Question.key == "smile"))
    question.required = True
    db.session.flush()
    assert _moment_queries(lambda: checklists.checklist(version)) == 1
    payload = full_payload(journey, location)
    payload["answers"] = [a for a in payload["answers"] if a["question"] != "smile"]
    with pytest.raises(SubmissionError) as raised:
        submit_evaluation(org.id, shopper, "shopper", payload)
    assert "answers.greeting.smile" in {e["field"] for e in raised.value.errors}


def test_another_version_row_under_the_same_id_is_not_served(world):
    org, shopper, journey, location = world
    submit_evaluation(org.id, shopper, "shopper", full_payload(journey, location))
    db.session.commit()
    version = journey.current_version
    checklists.checklist(version)
    identity, cached = checklists._cache[version.id]
    checklists._cache[version.id] = ((*identity[:2], None, *identity[3:]), cached)  # as if another row had this id
    assert _moment_queries(lambda: checklists.checklist(version)) == 1
