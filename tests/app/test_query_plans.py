"""Filtered reports read only their rows: the query plans of a one-month scorecard and a one-month export use the
indexes (a range on the visit date, then the rows of those evaluations), never a full scan of the big tables.

SQLite: EXPLAIN QUERY PLAN after ANALYZE. PostgreSQL: EXPLAIN (FORMAT JSON) with enable_seqscan off (a test
database is too small for the planner to prefer an index on its own; what is checked is that an index *can* serve
each table with a condition on it, and is not just walked end to end): every read of evaluation must be an index
range on started_at, every read of moment_result and answer an index lookup by evaluation_id.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, insert

from auditapp.evaluations.models import Answer, Evaluation, MomentResult
from auditapp.exports import queries as export_queries
from auditapp.extensions import db
from auditapp.results import queries

from ..factories import ten_moment_spec

EVALUATIONS = 1200  # over two years: a month holds about a twenty-fourth
BIG = ("evaluation", "moment_result", "answer")


@pytest.fixture
def month(make):
    org = make.org(timezone="Europe/Stockholm")
    user = make.user(org, "shopper")
    journey = make.journey(org, ten_moment_spec())
    locations = [make.location(org) for _ in range(4)]
    moments = [(m, m.questions[0]) for m in journey.current_version.moments]
    end = datetime(2025, 6, 30, 12)
    evaluations, results, answers = [], [], []
    for i in range(EVALUATIONS):
        started = end - timedelta(hours=i * 730 * 24 / EVALUATIONS)
        evaluations.append(dict(
            id=i + 1, org_id=org.id, client_uuid=uuid.UUID(int=i).hex, journey_id=journey.id,
            version_id=journey.current_version_id, location_id=locations[i % 4].id, evaluator_id=user.id,
            source="staff" if i % 3 == 0 else "shopper", status="rejected" if i % 17 == 0 else "approved",
            started_at=started, finished_at=started, submitted_at=started, notes="", score=50.0 + i % 50,
            remembered_score=60.0, content_hash="", revision=1, review_comment=""))
        for position, (moment, question) in enumerate(moments):
            results.append(dict(evaluation_id=i + 1, moment_id=moment.id, moment_key=moment.key, position=position,
                                score=float((i + position) % 100), critical_fail=False, verdict="neutral",
                                duration_seconds=None, note=""))
            answers.append(dict(evaluation_id=i + 1, question_id=question.id, moment_key=moment.key,
                                question_key=question.key, value="yes", score=1.0, note=""))
    db.session.execute(insert(Evaluation), evaluations)
    db.session.execute(insert(MomentResult), results)
    db.session.execute(insert(Answer), answers)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE evaluation; ANALYZE moment_result; ANALYZE answer"))
    else:
        db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    filters = queries.Filters(journey.id, date_from=date(2025, 5, 1), date_to=date(2025, 5, 31))
    return org, filters


def _statements(fn) -> list[tuple[str, object]]:
    """The SQL statements `fn` runs (with their parameters) that read a big table."""
    seen = []

    def capture(conn, cursor, statement, params, context, executemany):
        if any(name in statement for name in BIG):
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert seen, "no statement read the evaluations"
    return seen


def _sqlite_reads(statement, params) -> list[str]:
    raw = db.session.connection().connection.driver_connection
    return [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()]


def _postgres_reads(statement, params) -> list[dict]:
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) " + statement, params)
        plan = cur.fetchone()[0]
    nodes = []

    def walk(node):
        nodes.append(node)
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return nodes


def assert_reads_only_the_month(statements) -> None:
    checked = set()
    for statement, params in statements:
        if db.engine.dialect.name == "postgresql":
            nodes = _postgres_reads(statement, params)
            for node in nodes:
                table = node.get("Relation Name")
                if table not in BIG:
                    continue
                kind = node["Node Type"]
                assert kind != "Seq Scan", f"full scan of {table}:\n{statement}"
                if kind == "Bitmap Heap Scan":
                    cond = " ".join(child.get("Index Cond", "") for child in node.get("Plans", ()))
                else:
                    assert kind in ("Index Scan", "Index Only Scan"), f"{kind} on {table}"
                    cond = node.get("Index Cond", "")
                wanted = ("started_at", "(id =") if table == "evaluation" else ("evaluation_id",)
                assert any(w in cond for w in wanted), f"{kind} on {table} without a condition on {wanted} ({cond!r}):\n{statement}"
                checked.add(table)
        else:
            for detail in _sqlite_reads(statement, params):
                for table in BIG:
                    if detail.startswith((f"SCAN {table} ", f"SEARCH {table} ")) or detail == f"SCAN {table}":
                        assert detail.startswith(f"SEARCH {table} USING"), f"full scan: {detail}\n{statement}"
                        # An evaluation is read by a date range, or by its id from a row already filtered.
                        wanted = ("started_at>", "rowid=?") if table == "evaluation" else ("evaluation_id=?",)
                        assert any(w in detail for w in wanted), f"{detail}\n{statement}"
                        checked.add(table)
    return checked


def test_a_one_month_scorecard_reads_the_month_through_the_indexes(app, month):
    org, filters = month
    checked = assert_reads_only_the_month(
        _statements(lambda: queries.scorecard(org, filters, today=date(2025, 6, 30))))
    assert checked == {"evaluation", "moment_result"}


def test_the_moment_results_are_read_from_the_covering_index(app, month):
    org, filters = month
    statements = [s for s in _statements(lambda: queries.scorecard(org, filters, today=date(2025, 6, 30)))
                  if "moment_result" in s[0]]
    if db.engine.dialect.name == "postgresql":
        used = {node.get("Index Name") for s in statements for node in _postgres_reads(*s)
                if node.get("Relation Name") == "moment_result"}
    else:
        used = {detail for s in statements for detail in _sqlite_reads(*s) if "moment_result" in detail}
        assert all("COVERING INDEX ix_moment_result_evaluation_scores" in detail for detail in used), used
        return
    assert used <= {"ix_moment_result_evaluation_scores", "uq_moment_result_evaluation_id_moment_key"}, used


def test_a_one_month_responses_export_reads_the_month_through_the_indexes(app, month):
    org, filters = month
    rows = list(export_queries.responses(org, filters))  # it reads through the driver's cursor: explain its SELECT
    checked = assert_reads_only_the_month(
        [export_queries.driver_sql(export_queries.responses_statement(org, filters))])
    assert checked == {"answer", "evaluation"}
    assert 0 < len(rows) < EVALUATIONS * 10 / 12  # the month's answers, not everything


def test_a_location_scorecard_uses_the_location_and_date_index(app, month):
    org, filters = month
    from dataclasses import replace

    location_id = db.session.scalar(db.select(Evaluation.location_id).limit(1))
    one = replace(filters, location_id=location_id)
    statements = _statements(lambda: queries.scorecard(org, one, today=date(2025, 6, 30)))
    assert_reads_only_the_month(statements)
    if db.engine.dialect.name == "sqlite":
        details = [d for s in statements for d in _sqlite_reads(*s) if "evaluation USING" in d]
        assert any("ix_evaluation_journey_location_started" in d for d in details), details


def test_the_praise_quotes_read_only_the_magical_notes_through_their_partial_index(app, month):
    org, filters = month
    db.session.execute(db.text("UPDATE moment_result SET verdict = 'magical', note = 'Lovely' WHERE id % 7 = 0"))
    db.session.execute(db.text("UPDATE moment_result SET verdict = 'magical' WHERE id % 7 = 1"))  # magical, no note
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    praise = queries.magical_moments(org, filters)
    assert praise and all(note.text == "Lovely" for place in praise for item in place.moments for note in item.notes)
    quotes = [s for s in _statements(lambda: queries.magical_moments(org, filters)) if "row_number()" in s[0]]
    assert len(quotes) == 1
    if db.engine.dialect.name == "postgresql":
        used = {node.get("Index Name") for node in _postgres_reads(*quotes[0])
                if node.get("Relation Name") == "moment_result"}
        assert used == {"ix_moment_result_magical_notes"}, used
    else:
        reads = [detail for detail in _sqlite_reads(*quotes[0]) if "moment_result" in detail]
        assert reads and all("ix_moment_result_magical_notes" in detail for detail in reads), reads
    assert_reads_only_the_month(quotes)
