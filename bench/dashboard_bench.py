"""How fast are the dashboard's numbers on a big organisation? SQL aggregation vs one hand-written query.

    .venv/bin/python -m bench.dashboard_bench                 # 100,000 evaluations (about a million answers)
    .venv/bin/python -m bench.dashboard_bench --evaluations 20000 --repeat 3

Builds a temporary SQLite file (deleted at the end) with the schema from the models, one organisation, the
airline-trip journey of the starter library (10 moments), 40 locations in 4 regions, and N evaluations spread
over two years from shoppers and staff, each with its 10 moment results and 10 verdict answers, inserted with
executemany in big batches. Scores drift per moment and location so the numbers are not uniform.

Then, in the same run and on the same data, it times (best of --repeat, after one warm-up):
  1. auditapp.results.queries.scorecard() for the whole journey, all time: what the dashboard and the API use
     (headline, remembered score, every moment with its interval, verdicts, critical fails, durations and the
     30-day change signal);
  2. one hand-written SQL query giving the same figures (a GROUP BY over moment results joined to evaluations,
     UNION ALL the evaluation totals), fetched with the raw sqlite3 driver;
and prints both times and the ratio. It also times the rest of the dashboard page (heatmap(), trend(),
perception_gap(), magical_moments()) and the same for the default "last 90 days" filter, for information.
Target: scorecard within 1.5x of the hand-written query and under one second.

Then the whole page's numbers (queries.dashboard(), every section) against hand-written scans on SQLite and on a
PostgreSQL copy: cold (computed), and through the dashboard cache (auditapp/results/cache.py) warm and right after
an invalidation, on the file cache and on Redis when BENCH_REDIS_URL or TEST_REDIS_URL is set.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

SOURCES = ("shopper", "staff")
VERDICTS = ("miserable", "neutral", "magical")
LOCATIONS = 40
BATCH = 50_000


def build(db_path: Path, evaluations: int, seed: int) -> tuple[object, int, int]:
    """Schema, organisation, journey, locations and evaluations; returns (app, org id, journey id)."""
    from auditapp import create_app
    from auditapp.auth.services import get_or_create_org
    from auditapp.extensions import db
    from auditapp.journeys.library import get_library_journey
    from auditapp.journeys.services import create_journey_from_spec
    from auditapp.locations.models import Location

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        db.create_all()
        org = get_or_create_org("Bench Air", "bench", "Europe/Stockholm")
        spec = get_library_journey("airline-trip")
        journey = create_journey_from_spec(org.id, spec)
        for i in range(LOCATIONS):
            db.session.add(Location(org_id=org.id, code=f"L{i:03d}", name=f"Branch {i:03d}", region=f"Region {i % 4}"))
        db.session.commit()
        org_id, journey_id, version_id = org.id, journey.id, journey.current_version_id
        moments = [(m.id, m.key, m.position, m.weight, next(q.id for q in m.questions if q.key == "verdict"))
                   for m in journey.current_version.moments]
        location_ids = list(db.session.scalars(db.select(Location.id).where(Location.org_id == org_id)))
    _insert_evaluations(db_path, org_id, journey_id, version_id, moments, location_ids, evaluations, seed)
    return app, org_id, journey_id


def _insert_evaluations(db_path, org_id, journey_id, version_id, moments, location_ids, count, seed) -> None:
    rng = random.Random(seed)
    end = datetime(2025, 6, 30, 18)
    span = timedelta(days=730).total_seconds()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    location_bias = {loc: rng.uniform(-15, 15) for loc in location_ids}
    moment_bias = [rng.uniform(-20, 15) for _ in moments]
    eval_rows, result_rows, answer_rows = [], [], []
    next_id = 1
    total_weight = sum(m[3] for m in moments)

    def flush() -> None:
        conn.executemany(
            "INSERT INTO evaluation (id, org_id, client_uuid, journey_id, version_id, location_id, source, status, "
            "started_at, finished_at, submitted_at, notes, score, remembered_score, content_hash, revision, "
            "review_comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, '', 1, '')", eval_rows)
        conn.executemany(
            "INSERT INTO moment_result (evaluation_id, moment_id, moment_key, position, score, critical_fail, verdict, "
            "duration_seconds, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')", result_rows)
        conn.executemany(
            "INSERT INTO answer (evaluation_id, question_id, moment_key, question_key, value, score, note) "
            "VALUES (?, ?, ?, 'verdict', ?, ?, '')", answer_rows)
        conn.commit()
        eval_rows.clear()
        result_rows.clear()
        answer_rows.clear()

    # Ids follow time, as they do in use (an evaluation gets its id when it is submitted, soon after the visit).
    offsets = sorted((rng.random() * span for _ in range(count)), reverse=True)
    for offset in offsets:
        eid = next_id
        next_id += 1
        started = end - timedelta(seconds=offset)
        age = (end - started).days / 730  # 0 now .. 1 two years ago
        location = rng.choice(location_ids)
        source = "staff" if rng.random() < 0.3 else "shopper"
        scores = []
        for i, (moment_id, key, position, _weight, question_id) in enumerate(moments):
            drift = -25 * (1 - age) if i == 3 else 0  # one moment degrades over time
            base = 65 + moment_bias[i] + location_bias[location] + drift + (8 if source == "staff" else 0)
            score = min(100.0, max(0.0, rng.gauss(base, 20)))
            critical = rng.random() < 0.02
            if critical:
                score = 0.0
            verdict = VERDICTS[0 if score < 40 else 1 if score < 75 else 2]
            duration = rng.uniform(5, 120) if rng.random() < 0.6 else None
            result_rows.append((eid, moment_id, key, position, score, critical, verdict, duration))
            answer_rows.append((eid, question_id, key, verdict, {"miserable": 0.0, "neutral": 0.5, "magical": 1.0}[verdict]))
            scores.append(score)
        overall = sum(w * s for (_, _, _, w, _), s in zip(moments, scores, strict=True)) / total_weight
        remembered = (scores[0] + min(scores) + scores[-1]) / 3
        status = "rejected" if rng.random() < 0.03 else "approved" if rng.random() < 0.5 else "submitted"
        text = started.isoformat(sep=" ", timespec="microseconds")
        eval_rows.append((eid, org_id, uuid.UUID(int=rng.getrandbits(128)).hex, journey_id, version_id, location,
                          source, status, text, text, text, overall, remembered))
        if len(eval_rows) >= BATCH // len(moments):
            flush()
    flush()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


HAND_WRITTEN = """
SELECT mr.moment_key, count(mr.score), sum(mr.score), sum(mr.score * mr.score),
       sum(mr.verdict = 'magical'), sum(mr.verdict = 'neutral'), sum(mr.verdict = 'miserable'), sum(mr.critical_fail),
       count(mr.duration_seconds), sum(mr.duration_seconds),
       sum(e.started_at >= :cur), sum(CASE WHEN e.started_at >= :cur THEN mr.score END),
       sum(CASE WHEN e.started_at >= :cur THEN mr.score * mr.score END),
       count(CASE WHEN e.started_at >= :prev AND e.started_at < :cur THEN mr.score END),
       sum(CASE WHEN e.started_at >= :prev AND e.started_at < :cur THEN mr.score END),
       sum(CASE WHEN e.started_at >= :prev AND e.started_at < :cur THEN mr.score * mr.score END)
FROM moment_result mr JOIN evaluation e ON e.id = mr.evaluation_id
WHERE e.journey_id = :journey AND e.org_id = :org AND e.status IN ('submitted', 'approved', 'returned')
GROUP BY mr.moment_key
UNION ALL
SELECT NULL, count(e.score), sum(e.score), sum(e.score * e.score), count(*), count(e.remembered_score),
       sum(e.remembered_score), sum(e.remembered_score * e.remembered_score), NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL
FROM evaluation e
WHERE e.journey_id = :journey AND e.org_id = :org AND e.status IN ('submitted', 'approved', 'returned')
"""


def page_scans(month: str) -> list[str]:
    """Hand-written scans giving every number of the dashboard page, all time (queries.dashboard's figures): the
    moments by source with the comparison windows (scorecard and gap), the evaluations by source (headline, other
    side), locations x moments with the magical verdicts (heatmap, praise), the locations' totals, months x moments
    and the months' totals (trend), and the latest magical notes. `month`: the dialect's month-of-a-timestamp."""
    where = ("e.journey_id = :journey AND e.org_id = :org AND e.status IN ('submitted', 'approved', 'returned')")
    join = "FROM moment_result mr JOIN evaluation e ON e.id = mr.evaluation_id"
    cur, prev = "e.started_at >= :cur", "e.started_at >= :prev AND e.started_at < :cur"
    return [
        f"""SELECT mr.moment_key, e.source, count(mr.score), sum(mr.score), sum(mr.score * mr.score),
            sum(CASE WHEN mr.verdict = 'magical' THEN 1 ELSE 0 END), sum(CASE WHEN mr.verdict = 'neutral' THEN 1 ELSE 0 END),
            sum(CASE WHEN mr.verdict = 'miserable' THEN 1 ELSE 0 END), sum(CASE WHEN mr.critical_fail THEN 1 ELSE 0 END),
            count(mr.duration_seconds), sum(mr.duration_seconds),
            count(CASE WHEN {cur} THEN mr.score END), sum(CASE WHEN {cur} THEN mr.score END),
            sum(CASE WHEN {cur} THEN mr.score * mr.score END), count(CASE WHEN {prev} THEN mr.score END),
            sum(CASE WHEN {prev} THEN mr.score END), sum(CASE WHEN {prev} THEN mr.score * mr.score END)
            {join} WHERE {where} GROUP BY mr.moment_key, e.source""",
        f"""SELECT CASE WHEN {cur} THEN 2 WHEN e.started_at >= :prev THEN 1 ELSE 0 END AS b, e.source, count(e.score),
            sum(e.score), sum(e.score * e.score), count(*), count(e.remembered_score), sum(e.remembered_score),
            sum(e.remembered_score * e.remembered_score) FROM evaluation e WHERE {where} GROUP BY b, e.source""",
        f"""SELECT e.location_id, mr.moment_key, count(mr.score), sum(mr.score),
            sum(CASE WHEN mr.verdict = 'magical' THEN 1 ELSE 0 END), count(mr.verdict)
            {join} WHERE {where} AND e.source = 'shopper' GROUP BY e.location_id, mr.moment_key""",
        f"""SELECT e.location_id, count(e.score), sum(e.score), count(*) FROM evaluation e
            WHERE {where} AND e.source = 'shopper' GROUP BY e.location_id""",
        f"""SELECT {month} AS p, mr.moment_key, count(mr.score), sum(mr.score) {join}
            WHERE {where} AND e.source = 'shopper' GROUP BY p, mr.moment_key""",
        f"""SELECT {month} AS p, count(e.score), sum(e.score) FROM evaluation e
            WHERE {where} AND e.source = 'shopper' GROUP BY p""",
        f"""SELECT * FROM (SELECT e.location_id, mr.moment_key, e.id, e.started_at, mr.note,
            row_number() OVER (PARTITION BY e.location_id, mr.moment_key ORDER BY e.started_at DESC, e.id DESC) AS r
            {join} WHERE {where} AND e.source = 'shopper' AND mr.verdict = 'magical' AND mr.note != '') AS t
            WHERE r <= 2""",
    ]


def page_figures(url: str, org_id: int, journey_id: int, repeat: int, today: date) -> dict:
    """queries.dashboard() all time against the hand-written scans, on the database at `url` (best of `repeat`)."""
    import sqlalchemy as sa

    from auditapp import create_app
    from auditapp.auth.models import Organisation
    from auditapp.extensions import db
    from auditapp.results import queries
    from auditapp.timeutil import local_day_bounds

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        filters = queries.Filters(journey_id)
        comparison = queries.comparison_for(filters, today)
        cur, _ = local_day_bounds(comparison.current.date_from, None, org.timezone)
        prev, _ = local_day_bounds(comparison.previous.date_from, None, org.timezone)
        statements = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def ours():
            db.session.expire_all()
            return queries.dashboard(org, filters, "month", today=today)

        t_ours, _ = best_of(repeat, ours)
        count = len(statements) // (repeat + 1)
        postgres = db.engine.dialect.name == "postgresql"
        month = "to_char(e.started_at, 'YYYY-MM')" if postgres else "strftime('%Y-%m', e.started_at)"
        scans = [sa.text(sql) for sql in page_scans(month)]
        params = {"journey": journey_id, "org": org_id, "cur": cur, "prev": prev}
        if not postgres:
            params.update(cur=cur.isoformat(sep=" "), prev=prev.isoformat(sep=" "))

        def hand():
            with db.engine.connect() as conn:
                return [conn.execute(scan, params).all() for scan in scans]

        t_hand, _ = best_of(repeat, hand)
        db.session.remove()
        db.engine.dispose()
    return {"ours": t_ours, "hand": t_hand, "queries": count, "hand_queries": len(scans),
            **cache_figures(url, org_id, journey_id, repeat, today)}


def cache_figures(url: str, org_id: int, journey_id: int, repeat: int, today: date) -> dict:
    """The page's numbers through auditapp.results.cache: warm (an entry is there) on the file cache that one host's
    workers share and on Redis (BENCH_REDIS_URL or TEST_REDIS_URL, when set), and right after an invalidation (a
    commit that wrote an evaluation: computed again, then stored)."""
    import secrets

    from auditapp import create_app

    backends = {"files": {"CACHE_TYPE": "FileSystemCache",
                          "CACHE_DIR": tempfile.mkdtemp(prefix="auditapp-dash-cache-")}}
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    if redis_url:
        backends["redis"] = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url,
                             "CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}:"}
    figures = {}
    for name, settings in backends.items():
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True, **settings})
        figures[f"warm_{name}"], figures[f"after_{name}"] = _through_cache(app, org_id, journey_id, repeat, today)
    shutil.rmtree(backends["files"]["CACHE_DIR"], ignore_errors=True)
    return figures


def _through_cache(app, org_id: int, journey_id: int, repeat: int, today: date) -> tuple[float, float]:
    from auditapp.auth.models import Organisation
    from auditapp.extensions import db
    from auditapp.results import cache, queries

    with app.app_context():
        org = db.session.get(Organisation, org_id)
        filters = queries.Filters(journey_id)

        def warm():
            db.session.expire_all()
            return cache.dashboard(org, filters, "month", today=today)

        t_warm, numbers = best_of(repeat, warm)
        assert numbers == queries.dashboard(org, filters, "month", today=today)  # the same numbers

        def invalidated():
            cache.forget([org_id])  # what the commit of a submission does
            return warm()

        t_after, _ = best_of(max(1, repeat // 2), invalidated)
        db.session.remove()
        db.engine.dispose()
    return t_warm, t_after


def best_of(repeat: int, fn) -> tuple[float, object]:
    fn()  # warm-up: page cache, statement cache
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    from auditapp.auth.models import Organisation
    from auditapp.extensions import db
    from auditapp.results import queries
    from auditapp.timeutil import local_day_bounds

    today = date(2025, 6, 30)
    with tempfile.TemporaryDirectory(prefix="auditapp-dash-") as tmp:
        db_path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        app, org_id, journey_id = build(db_path, args.evaluations, args.seed)
        raw = sqlite3.connect(db_path)
        counts = {table: raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("evaluation", "moment_result", "answer")}
        print(f"data: {counts['evaluation']:,} evaluations, {counts['moment_result']:,} moment results, "
              f"{counts['answer']:,} answers in {time.perf_counter() - started:.1f} s")

        with app.app_context():
            org = db.session.get(Organisation, org_id)
            filters = queries.Filters(journey_id, source=None)  # shoppers and staff, as HAND_WRITTEN
            comparison = queries.comparison_for(filters, today)
            cur, _ = local_day_bounds(comparison.current.date_from, None, org.timezone)
            prev, _ = local_day_bounds(comparison.previous.date_from, None, org.timezone)
            params = {"journey": journey_id, "org": org_id, "cur": cur.isoformat(sep=" "), "prev": prev.isoformat(sep=" ")}

            def ours():
                db.session.expire_all()
                return queries.scorecard(org, filters, today=today)

            def hand():
                return raw.execute(HAND_WRITTEN, params).fetchall()

            t_ours, card = best_of(args.repeat, ours)
            t_hand, rows = best_of(args.repeat, hand)
            # Same figures, or the comparison means nothing.
            by_key = {row[0]: row for row in rows}
            total = by_key[None]
            assert card.estimate.n == total[1] and abs(card.score - total[2] / total[1]) < 1e-9
            assert card.evaluations == total[4]
            for m in card.moments:
                row = by_key[m.key]
                assert (m.n, m.magical, m.neutral, m.miserable, m.critical_fails) == (row[1], row[4], row[5], row[6], row[7])
                assert abs(m.score - row[2] / row[1]) < 1e-9 and m.previous_n == row[13]

            print(f"scorecard(), all time:       {t_ours * 1000:8.1f} ms")
            print(f"hand-written single query:   {t_hand * 1000:8.1f} ms")
            ratio = t_ours / t_hand
            print(f"ratio: {ratio:.2f}x (target <= 1.5x and under 1 s: "
                  f"{'met' if ratio <= 1.5 and t_ours < 1 else 'NOT met'})")
            load = os.getloadavg()[0]
            print(f"load average {load:.1f} on {os.cpu_count()} CPUs"
                  + (": the machine is busy, absolute times are inflated; the ratio is the fair figure" if load > 1 else ""))

            print("rest of the dashboard page, for information:")
            for label, fn in (
                ("heatmap()", lambda: queries.heatmap(org, filters)),
                ("trend(month)", lambda: queries.trend(org, filters, "month")),
                ("perception_gap()", lambda: queries.perception_gap(org, filters)),
                ("magical_moments()", lambda: queries.magical_moments(org, filters)),
            ):
                t, _ = best_of(max(1, args.repeat // 2), fn)
                print(f"  {label:26} {t * 1000:8.1f} ms")
            recent = queries.Filters(journey_id, date_from=today - timedelta(days=89), date_to=today)
            t, _ = best_of(args.repeat, lambda: queries.scorecard(org, recent, today=today))
            print(f"  {'scorecard(), last 90 days':26} {t * 1000:8.1f} ms")
            db.session.remove()
            db.engine.dispose()
        raw.close()

        print("the whole dashboard page, all time (every section: queries.dashboard), against hand-written scans:")
        from bench._pgcopy import postgres_copy

        page_ok = True
        for kind in ("sqlite", "postgres"):
            if kind == "sqlite":
                f = page_figures(f"sqlite:///{db_path}", org_id, journey_id, args.repeat, today)
            else:
                with postgres_copy(db_path) as url:
                    f = page_figures(url, org_id, journey_id, args.repeat, today)
            page_ratio = f["ours"] / f["hand"]
            page_ok = page_ok and page_ratio <= 2
            print(f"  {kind:9} dashboard() {f['ours'] * 1000:8.1f} ms in {f['queries']} queries;  hand-written "
                  f"{f['hand'] * 1000:8.1f} ms in {f['hand_queries']} scans;  ratio {page_ratio:.2f}x "
                  f"(target <= 2x: {'met' if page_ratio <= 2 else 'NOT met'})")
            for name in ("files", "redis"):
                if f"warm_{name}" in f:
                    print(f"  {'':9} cached ({name}): warm {f[f'warm_{name}'] * 1000:8.2f} ms "
                          f"({f['ours'] / f[f'warm_{name}']:.0f}x faster than cold); right after an invalidation "
                          f"{f[f'after_{name}'] * 1000:8.1f} ms ({f[f'after_{name}'] / f['ours']:.2f}x cold)")
    return 0 if ratio <= 1.5 and t_ours < 1 and page_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
