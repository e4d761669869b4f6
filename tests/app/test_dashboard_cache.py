"""The dashboard cache (auditapp/results/cache.py): a second load computes nothing, and whatever changes the numbers
(a submission, a review decision, a journey or location edit, raw SQL) makes the next load compute them again, in
this process and in another one sharing the cache (files, Redis). Writes of other organisations, or that are rolled
back, leave an organisation's entries alone."""
from __future__ import annotations

import os
import re
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import event, insert, update

from auditapp import create_app
from auditapp.auth.models import Organisation, User
from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.journeys.models import Journey, Moment
from auditapp.locations.models import Location
from auditapp.results import cache as dashboard_cache
from auditapp.results import queries
from auditapp.visits.review import approve, reject

from .test_api_capture import bearer
from .test_results_queries import ANSWERS_A, ANSWERS_B, world  # noqa: F401  (the fixture)
from .test_submit_service import full_payload

FROZEN = datetime(2025, 2, 1, 9)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CACHE_TYPE": "SimpleCache"}


@pytest.fixture
def frozen_at():
    return FROZEN


@pytest.fixture(autouse=True)
def empty_cache(app):
    """The app (and its SimpleCache) is shared by the tests of this configuration, and ids restart in every test:
    each test starts with nothing cached."""
    dashboard_cache.cache.clear()


@pytest.fixture
def other_app(app_config):
    """Apps of their own configuration (as other worker processes), their connections closed after the test."""
    made = []

    def make_app(**settings):
        made.append(create_app({**app_config, **settings}))
        return made[-1]

    yield make_app
    for each in made:
        with each.app_context():
            db.engine.dispose()


def _computes(fn) -> int:
    """How many statements read the evaluations while fn runs (0: the numbers came from the cache)."""
    seen = []

    def count(conn, cursor, statement, params, context, executemany):
        if re.search(r"\bevaluation\b", statement) and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def _load(world, **filters):  # noqa: F811
    return dashboard_cache.dashboard(world.org, queries.Filters(world.journey.id, **filters), "month")


def test_a_second_load_computes_nothing_and_gives_the_same_numbers(world):  # noqa: F811
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    world.evaluate(ANSWERS_B, datetime(2025, 1, 11, 10))
    first = _load(world)
    assert _computes(lambda: _load(world)) == 0
    assert _load(world) == first == queries.dashboard(world.org, queries.Filters(world.journey.id), "month",
                                                      today=date(2025, 2, 1))
    assert first.scorecard.evaluations == 2
    # Other filters are other entries.
    assert _computes(lambda: _load(world, location_id=world.north.id)) > 0
    assert _computes(lambda: _load(world, location_id=world.north.id)) == 0


def test_a_new_evaluation_or_a_review_decision_shows_at_once(world):  # noqa: F811
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    assert _load(world).scorecard.evaluations == 1
    added = world.evaluate(ANSWERS_B, datetime(2025, 1, 11, 10))
    assert _load(world).scorecard.evaluations == 2
    reject(added, world.admin, "Not a real visit")
    db.session.commit()
    assert _load(world).scorecard.evaluations == 1  # rejected evaluations never count


def test_writes_of_another_organisation_or_rolled_back_leave_the_entry(world, make):  # noqa: F811
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    _load(world)
    other = make.org()
    journey = make.journey(other)
    make.evaluation(other, journey, make.location(other), make.user(other, "shopper"), ANSWERS_B,
                    started_at=datetime(2025, 1, 12, 10))
    assert _computes(lambda: _load(world)) == 0
    evaluation = db.session.scalar(db.select(Evaluation).where(Evaluation.org_id == world.org.id))
    evaluation.status = "rejected"
    db.session.flush()
    db.session.rollback()
    assert _computes(lambda: _load(world)) == 0
    assert _load(world).scorecard.evaluations == 1


def test_the_numbers_change_only_when_the_outer_transaction_commits(world):  # noqa: F811
    evaluation = world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    _load(world)
    token = dashboard_cache._token(world.org.id)
    with db.session.begin_nested():
        evaluation.status = "rejected"
    assert dashboard_cache._token(world.org.id) == token  # released savepoint: nobody else can see it yet
    db.session.commit()
    assert dashboard_cache._token(world.org.id) != token
    assert _load(world).scorecard.evaluations == 0


def test_journey_location_and_raw_sql_edits_are_seen(world):  # noqa: F811
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    before = _load(world)
    moment = db.session.scalar(db.select(Moment).where(Moment.version_id == world.journey.current_version_id,
                                                       Moment.key == "greeting"))
    db.session.expunge_all()  # the moment's journey is not in the session: every organisation's entries go
    moment = db.session.get(Moment, moment.id)
    moment.name = "Hello at the door"
    db.session.commit()
    after = _load(world)
    assert [m.name for m in after.scorecard.moments][0] == "Hello at the door" != before.scorecard.moments[0].name

    db.session.execute(db.text("UPDATE evaluation SET status = 'rejected'"))
    db.session.commit()
    assert _load(world).scorecard.evaluations == 0

    db.session.execute(update(Evaluation).values(status="approved"))  # a Core statement without an organisation
    db.session.commit()
    assert _load(world).scorecard.evaluations == 1

    db.session.get(Location, world.north.id).name = "Harbour front"
    db.session.commit()
    assert [place.name for place in _load(world).heatmap.locations] == ["Harbour front"]


def test_a_bulk_insert_of_evaluations_is_seen(world):  # noqa: F811
    template = world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    assert _load(world).scorecard.evaluations == 1
    row = {c.name: getattr(template, c.key) for c in Evaluation.__table__.columns if c.name != "id"}
    db.session.execute(insert(Evaluation), [{**row, "client_uuid": uuid.uuid4().hex}])
    db.session.commit()
    assert _load(world).scorecard.evaluations == 2


def test_an_insert_on_conflict_forgets_only_its_organisation(world, make):  # noqa: F811
    """The insert a submission may use against the duplicate-client_uuid race (values in the statement)."""
    from sqlalchemy.dialects import postgresql, sqlite

    template = world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    other = make.org()
    _load(world)  # viewed: its writers replace its token
    mine, theirs = dashboard_cache._token(world.org.id), dashboard_cache._token(other.id)
    dialect_insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    row = {c.name: getattr(template, c.key) for c in Evaluation.__table__.columns if c.name != "id"}
    statement = dialect_insert(Evaluation).values(**{**row, "client_uuid": uuid.uuid4().hex})
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["org_id", "client_uuid"]))
    db.session.commit()
    assert dashboard_cache._token(other.id) == theirs
    assert dashboard_cache._token(world.org.id) != mine
    assert _load(world).scorecard.evaluations == 2


def test_the_next_day_is_a_new_entry(world, frozen_clock):  # noqa: F811
    """The default period ends today (the organisation's local date, Stockholm here): at local midnight the
    dashboard is computed again."""
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    frozen_clock.move_to(datetime(2025, 1, 31, 22, 58))  # 23:58 on 31 January in Stockholm
    _load(world)
    assert _computes(lambda: _load(world)) == 0
    frozen_clock.move_to(datetime(2025, 1, 31, 23, 2))  # 00:02 on 1 February
    assert _computes(lambda: _load(world)) > 0
    frozen_clock.move_to(datetime(2025, 1, 31, 23, 6))  # the same local day
    assert _computes(lambda: _load(world)) == 0


def test_a_submission_to_an_organisation_nobody_views_writes_nothing_to_the_cache(world, make):  # noqa: F811
    quiet = make.org()
    token = dashboard_cache._token(quiet.id)
    make.evaluation(quiet, make.journey(quiet), make.location(quiet), make.user(quiet, "shopper"), ANSWERS_A,
                    started_at=datetime(2025, 1, 10, 10))
    assert dashboard_cache._token(quiet.id) == token  # not viewed: its token is left as it was
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    _load(world)  # viewed from now on
    token = dashboard_cache._token(world.org.id)
    world.evaluate(ANSWERS_B, datetime(2025, 1, 11, 10))
    assert dashboard_cache._token(world.org.id) != token


def test_an_evicted_viewed_mark_makes_the_entries_unreachable(world):  # noqa: F811
    """Writers stop replacing the token when the mark is gone, so entries made under the mark must not be read."""
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    assert _load(world).scorecard.evaluations == 1
    dashboard_cache.cache.delete(dashboard_cache._viewed_name(world.org.id))  # expired or evicted
    world.evaluate(ANSWERS_B, datetime(2025, 1, 11, 10))  # no mark: the token stays
    assert _load(world).scorecard.evaluations == 2


def test_the_dashboard_page_after_an_api_submission(world, make, client, auth):  # noqa: F811
    manager = make.user(world.org, "manager", email="cache-boss@example.com")
    shopper = make.user(world.org, "shopper")
    token = make.token(shopper)
    auth.login(manager.email)
    url = f"/results/journeys/{world.journey.id}?period=all&source=all"
    assert "No evaluations match these filters yet." in client.get(url).data.decode()
    payload = full_payload(world.journey, world.north, started_at="2025-01-20T10:00:00+01:00",
                           finished_at="2025-01-20T10:20:00+01:00")
    other = make.org()
    with client.application.app_context():
        theirs, everyone = dashboard_cache._token(other.id), dashboard_cache._token(dashboard_cache.ALL_ORGS)
    assert client.post("/api/v1/evaluations", json=payload, headers=bearer(token)).status_code == 201
    with client.application.app_context():  # a submission forgets its own organisation's dashboards only
        assert (dashboard_cache._token(other.id), dashboard_cache._token(dashboard_cache.ALL_ORGS)) == (theirs,
                                                                                                        everyone)
    page = client.get(url).data.decode()
    assert "No evaluations match these filters yet." not in page
    evaluation = db.session.scalar(db.select(Evaluation))
    approve(evaluation, manager)
    db.session.commit()
    assert _computes(lambda: client.get(url)) > 0


def test_every_table_the_dashboard_reads_invalidates_it(world):  # noqa: F811
    world.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    statements = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        queries.dashboard(world.org, queries.Filters(world.journey.id), "month", today=date(2025, 2, 1))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    read = {name for name in db.metadata.tables if any(re.search(rf"\b{name}\b", s) for s in statements)}
    assert read and read <= dashboard_cache.READ_TABLES, read - dashboard_cache.READ_TABLES


@pytest.mark.parametrize("backend", ["files", "redis"])
def test_another_process_sharing_the_cache_sees_the_invalidation(other_app, tmp_path, backend, make):
    """Two app objects, as two gunicorn workers: one caches the numbers, the other commits a submission."""
    if backend == "redis":
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.skip("TEST_REDIS_URL is not set")
        settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_KEY_PREFIX": f"t{uuid.uuid4().hex}:"}
    else:
        settings = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache")}
    reader, writer = other_app(**settings), other_app(**settings)
    org = make.org(timezone="Europe/Stockholm")
    journey = make.journey(org)
    location = make.location(org)
    shopper = make.user(org, "shopper")
    make.evaluation(org, journey, location, shopper, ANSWERS_A, started_at=datetime(2025, 1, 10, 10))
    ids = org.id, journey.id, location.id, shopper.id

    def numbers():
        return dashboard_cache.dashboard(db.session.get(Organisation, ids[0]), queries.Filters(ids[1]), "month")

    with reader.app_context():
        assert numbers().scorecard.evaluations == 1
        assert _computes(numbers) == 0
    with writer.app_context():
        org, journey, location, shopper = (db.session.get(model, pk) for model, pk in
                                           zip((Organisation, Journey, Location, User), ids, strict=True))
        make.evaluation(org, journey, location, shopper, ANSWERS_B, started_at=datetime(2025, 1, 11, 10))
    with reader.app_context():
        assert numbers().scorecard.evaluations == 2
        assert _computes(numbers) == 0


def test_an_unreachable_cache_still_gives_the_dashboard(other_app, make):
    broken = other_app(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://127.0.0.1:1/0")
    with broken.app_context():
        org = make.org()
        journey = make.journey(org)
        make.evaluation(org, journey, make.location(org), make.user(org, "shopper"), ANSWERS_A,
                        started_at=datetime(2025, 1, 10, 10))  # its commit cannot reach the cache either
        numbers = dashboard_cache.dashboard(org, queries.Filters(journey.id), "month")
        assert numbers.scorecard.evaluations == 1
