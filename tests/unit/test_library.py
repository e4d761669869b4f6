"""The starter library: every journey is valid, survives the workbook round trip and follows the counting rules."""
from __future__ import annotations

import pytest

from auditapp.journeys.library import LIBRARY, LIBRARY_SLUGS, get_library_journey, journey_from_dict, library_journeys
from auditapp.journeys.spec import CHANNELS, KEY_RE, KINDS, MAX_PRIORITIES, QUESTION_TYPES, VERDICT_KEY, parse_target
from auditapp.journeys.workbook import read_journey_workbook, write_journey_workbook

SLUGS = list(LIBRARY_SLUGS)


def test_at_least_six_journeys_including_the_ones_from_the_articles():
    assert len(LIBRARY) >= 6
    names = {spec.name for spec in LIBRARY.values()}
    assert {"Dentist visit", "Airline trip"} <= names
    assert [slug for slug, _ in library_journeys()] == SLUGS


def test_dentist_visit_follows_the_article_timeline():
    spec = LIBRARY["dentist-visit"]
    assert [m.key for m in spec.moments] == [
        "booking_call", "arrival", "nurse_greeting", "dentist_arrives", "examination", "escorted_back", "payment",
        "farewell", "follow_up_call"]


@pytest.mark.parametrize("slug", SLUGS)
def test_round_trips_through_the_workbook(slug):
    spec = LIBRARY[slug]
    assert read_journey_workbook(write_journey_workbook(spec)) == spec


@pytest.mark.parametrize("slug", SLUGS)
def test_counting_rules(slug):
    spec = LIBRARY[slug]
    priorities = [m for m in spec.moments if m.priority]
    assert 3 <= len(priorities) <= MAX_PRIORITIES
    assert len(spec.moments) >= 5
    for moment in spec.moments:
        others = [q for q in moment.questions if q.key != VERDICT_KEY]
        assert 3 <= len(others) <= 8, moment.key
        assert moment.questions[-1].key == VERDICT_KEY
        assert moment.description and moment.channel in CHANNELS and moment.kind in KINDS
        assert KEY_RE.match(moment.key)


@pytest.mark.parametrize("slug", SLUGS)
def test_questions_are_well_formed(slug):
    for moment in LIBRARY[slug].moments:
        keys = [q.key for q in moment.questions]
        assert len(keys) == len(set(keys)), moment.key
        for question in moment.questions:
            assert KEY_RE.match(question.key) and question.type in QUESTION_TYPES
            assert question.text.strip() == question.text and question.weight >= 0
            assert bool(question.options) == (question.type == "choice"), question.key
            if question.target is not None:
                assert question.type == "number"
                parse_target(question.target)
            if question.critical:
                assert question.type in {"yes_no", "choice", "rating", "mnm", "number"}


def test_the_library_uses_every_question_type_channel_variety_and_kinds():
    questions = [q for spec in LIBRARY.values() for m in spec.moments for q in m.questions if q.key != VERDICT_KEY]
    assert {q.type for q in questions} == set(QUESTION_TYPES)
    assert {m.kind for spec in LIBRARY.values() for m in spec.moments} == set(KINDS)
    assert len({m.channel for spec in LIBRARY.values() for m in spec.moments}) >= 6
    assert any(q.critical for q in questions) and any(q.help for q in questions)
    assert any(q.target for q in questions) and any(q.required for q in questions)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_journey_has_a_decisive_or_critical_moment_and_scored_choices(slug):
    spec = LIBRARY[slug]
    assert any(q.critical for m in spec.moments for q in m.questions)
    for moment in spec.moments:
        for question in moment.questions:
            if question.type == "choice":
                assert all(o.score is not None for o in question.options)
                assert max(o.score for o in question.options) == 1.0


def test_copies_are_independent_of_the_library():
    copy = get_library_journey("dentist-visit")
    copy.moments.clear()
    assert LIBRARY["dentist-visit"].moments
    assert get_library_journey("no-such-journey") is None


def test_unknown_fields_in_the_data_are_refused():
    with pytest.raises(ValueError, match="unknown fields"):
        journey_from_dict({"name": "x", "moments": [
            {"key": "a", "name": "A", "channel": "phone", "questions": [{"key": "q", "text": "Q", "type": "text",
                                                                         "crtical": True}]}]})
