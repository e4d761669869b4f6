"""CPU and SQL statements of one submission through the API, in-process (no gunicorn, no network).

    python -m bench.submit_profile                       # SQLite file, 300 café submissions
    python -m bench.submit_profile --profile 25          # plus the 25 heaviest functions (cProfile, cumulative)
    DATABASE_URL=postgresql+psycopg://... python -m bench.submit_profile --db postgres

It sets up what bench/load.py sets up (the café journey, 10 locations, shoppers with API tokens), warms up, then
POSTs N fresh evaluations through the Flask test client, rotating the tokens, and prints the CPU time per
submission and the statements per submission (min / median / max: a critical fail adds the notice's and the
webhooks' reads). The token's last_used_at write happens at most once a minute per token, so the median is the
steady state and the first submission of a token (the figure bench/load.py prints) is the max.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import secrets
import statistics
import tempfile
import time

import sqlalchemy as sa

from bench.load import JOURNEY_SLUG, Fixture, _postgres_database, make_submission


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=300, help="submissions to time (default 300)")
    parser.add_argument("--shoppers", type=int, default=10)
    parser.add_argument("--profile", type=int, default=0, help="print this many functions of a cProfile run")
    parser.add_argument("--slug", default=JOURNEY_SLUG)
    parser.add_argument("--baseline", action="store_true",
                        help="time bench/_baseline.py's bulk-insert endpoint instead (the same bodies), for the in-process ratio")
    args = parser.parse_args(argv)

    from auditapp import create_app

    drop = None
    with tempfile.TemporaryDirectory(prefix="auditapp-profile-") as tmp:
        if args.db == "postgres":
            url, drop = _postgres_database(os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        else:
            url = f"sqlite:///{tmp}/profile.db"
        try:
            os.environ["DATABASE_URL"] = url  # bench._baseline makes its app from the environment
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "profile", "UPLOAD_DIR": f"{tmp}/uploads",
                              "RATELIMIT_ENABLED": False})
            from auditapp.auth.services import add_user, create_api_token, get_or_create_org
            from auditapp.extensions import db
            from auditapp.journeys.library import get_library_journey
            from auditapp.journeys.services import create_journey_from_spec
            from auditapp.locations.models import Location

            with app.app_context():
                db.create_all()
                org = get_or_create_org("Profile", "profile")
                journey = create_journey_from_spec(org.id, get_library_journey(args.slug), library_slug=args.slug)
                places = [Location(org_id=org.id, code=f"C{i}", name=f"Café {i}", region="R") for i in range(10)]
                db.session.add_all(places)
                tokens = []
                for i in range(args.shoppers):
                    user = add_user(org, f"s{i}@example.com", f"S {i}", secrets.token_urlsafe(16), "shopper")
                    tokens.append(create_api_token(user, org.id, "profile")[1])
                db.session.commit()
                fixture = Fixture(journey.id, [p.id for p in places], tokens,
                                  [(m.key, q.key, q.type, q.required, [label for label, _ in (q.options or [])])
                                   for m in journey.current_version.moments for q in m.questions],
                                  [m.key for m in journey.current_version.moments])
                db.session.remove()
                engine = db.engine
            path = "/api/v1/evaluations"
            if args.baseline:
                from auditapp.extensions import csrf
                from bench._baseline import baseline

                app.add_url_rule("/bench/baseline-evaluations", "bench_baseline", csrf.exempt(baseline), methods=["POST"])
                path = "/bench/baseline-evaluations"
            rng = random.Random(5)
            client = app.test_client()
            counts: list[int] = []
            current = [0]
            sa.event.listen(engine, "before_cursor_execute", lambda *a: current.__setitem__(0, current[0] + 1))

            def submit(i: int) -> None:
                token = tokens[i % len(tokens)]
                current[0] = 0
                reply = client.post(path, json=make_submission(rng, fixture),
                                    headers={"Authorization": f"Bearer {token}"})
                if reply.status_code != 201:
                    raise SystemExit(f"submission failed: {reply.status_code} {reply.get_data(as_text=True)[:300]}")
                counts.append(current[0])

            for i in range(len(tokens) * 2):  # warm up: imports, caches, every token's last_used_at write
                submit(i)
            counts.clear()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for i in range(args.n):
                submit(i)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            label = f"{args.db}, {args.slug}{' BASELINE' if args.baseline else ''}"
            print(f"{label}: {args.n} submissions, {cpu / args.n * 1000:.1f} ms CPU and "
                  f"{wall / args.n * 1000:.1f} ms wall each; statements per submission min {min(counts)}, "
                  f"median {statistics.median(counts):.0f}, max {max(counts)}")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for i in range(100):
                    submit(i)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
            with app.app_context():
                db.engine.dispose()
        finally:
            if drop is not None:
                drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
