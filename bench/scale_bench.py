"""Cost against size: how each heavy operation grows from 10k to 100k to 1M answers, in one run.

    .venv/bin/python -m bench.scale_bench                        # 10k, 100k and 1M answers (1k-100k evaluations)
    .venv/bin/python -m bench.scale_bench --answers 10000 100000

Data: the generator of bench/dashboard_bench.py (10 answers and 10 moment results per evaluation) in temporary
SQLite files, one per size, deleted at the end. For each size, in this process (best of --repeat, CPU time, which
other processes on the shared machine inflate less than wall time):
  aggregation  queries.scorecard(), all time;
  dashboard    queries.dashboard(), all time (every section of the page);
  scorecard    the one-month Excel scorecard download (May 2025), workbook written to memory;
  csv          the responses CSV, all time, streamed and thrown away;
  submission   one valid submission POSTed through the API (test client) into that database.
It prints a table with each cost, the cost per 1,000 answers and the growth factor from the previous size (10x
the answers: linear is 10x). Sizes are answers, not evaluations.
"""
from __future__ import annotations

import argparse
import io
import random
import resource
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

OPS = ("aggregation", "dashboard", "scorecard", "csv", "submission")
TODAY = date(2025, 6, 30)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best(repeat: int, fn) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = _cpu()
        fn()
        times.append(_cpu() - start)
    return min(times)


def measure(db_path: Path, org_id: int, journey_id: int, repeat: int) -> dict[str, float]:
    from auditapp import create_app
    from auditapp.auth.models import Organisation
    from auditapp.auth.services import add_user, create_api_token
    from auditapp.exports.csvexport import responses_csv
    from auditapp.exports.queries import load_scorecard, responses
    from auditapp.exports.workbook import write_scorecard
    from auditapp.extensions import db
    from auditapp.locations.models import Location
    from auditapp.results import queries
    from bench.load import Fixture, make_submission

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench", "TESTING": True,
                      "RATELIMIT_ENABLED": False, "UPLOAD_DIR": str(db_path.parent / "uploads")})
    out: dict[str, float] = {}
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        every = queries.Filters(journey_id)
        month = queries.Filters(journey_id, date_from=date(2025, 5, 1), date_to=date(2025, 5, 31))
        out["aggregation"] = best(repeat, lambda: queries.scorecard(org, every, today=TODAY))
        out["dashboard"] = best(repeat, lambda: queries.dashboard(org, every, "month", today=TODAY))
        out["scorecard"] = best(1, lambda: write_scorecard(io.BytesIO(), load_scorecard(org, month, today=TODAY)))
        out["csv"] = best(1, lambda: sum(len(c) for c in responses_csv(responses(org, every, plain=True), "UTC")))

        user = add_user(org, f"scale{secrets.token_hex(3)}@example.com", "Scale", secrets.token_urlsafe(12), "shopper")
        token = create_api_token(user, org.id, "scale")[1]
        db.session.commit()
        from auditapp.journeys.models import Journey

        journey = db.session.get(Journey, journey_id)
        fixture = Fixture(journey_id, list(db.session.scalars(db.select(Location.id).where(Location.org_id == org.id))),
                          [token], [(m.key, q.key, q.type, q.required, [label for label, _ in (q.options or [])])
                                    for m in journey.current_version.moments for q in m.questions],
                          [m.key for m in journey.current_version.moments])
        client = app.test_client()
        rng = random.Random(5)

        def submit():
            reply = client.post("/api/v1/evaluations", json=make_submission(rng, fixture),
                                headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 201, reply.get_data(as_text=True)[:300]

        out["submission"] = best(max(repeat, 5), submit)
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from bench.dashboard_bench import build

    rows = {}
    with tempfile.TemporaryDirectory(prefix="auditapp-scale-") as tmp:
        for answers in args.answers:
            db_path = Path(tmp) / f"scale-{answers}.db"
            started = time.perf_counter()
            app, org_id, journey_id = build(db_path, answers // 10, 6)
            with app.app_context():
                from auditapp.extensions import db

                db.engine.dispose()
            print(f"{answers:,} answers: data in {time.perf_counter() - started:.0f} s", flush=True)
            rows[answers] = measure(db_path, org_id, journey_id, args.repeat)
            db_path.unlink()
    sizes = list(rows)
    print("\nCPU seconds (per 1,000 answers; growth from the previous size, 10x answers = 10x if linear)")
    print(f"{'operation':12}" + "".join(f"{f'{s:,} answers':>34}" for s in sizes))
    for op in OPS:
        line = f"{op:12}"
        for i, s in enumerate(sizes):
            value = rows[s][op]
            growth = f" x{value / rows[sizes[i - 1]][op]:.1f}" if i else ""
            line += f"{value:>12.3f} s ({value / s * 1000 * 1000:7.2f} ms/1k){growth:>7}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
