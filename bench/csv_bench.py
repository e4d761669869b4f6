"""How close is the responses CSV to a bare csv.writer, and does it stream with constant memory?

    .venv/bin/python -m bench.csv_bench                      # 100,000 evaluations (about a million answers)
    .venv/bin/python -m bench.csv_bench --evaluations 10000

Data: the generator of bench/dashboard_bench.py in a temporary SQLite file (deleted at the end). Each step runs in
a fresh child process:
  1. bare: the same joined rows (export_bench.BARE_QUERY) read with the raw sqlite3 driver and written by a bare
     csv.writer (QUOTE_NONNUMERIC), no sanitising, no time-zone conversion, no flags;
  2. csv: the download as the app streams it, responses_csv(responses(org, filters)), every chunk written to a file;
  3. memory: the same download under tracemalloc, at two sizes (the last year, about half the rows, and all time):
     the peak of Python allocations must not grow with the rows (constant memory).
The ratio uses CPU time (other processes on a shared machine inflate it less than wall time), the best of
--repeat runs of each taken in turns. Target: at most 1.5x.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.export_bench import BARE_QUERY, ROOT, _cpu, _peak_mb

TARGET_RATIO = 1.5


def child_bare(db_path: str, org_id: int, journey_id: int, since: str) -> dict:
    import sqlite3

    start, cpu = time.perf_counter(), _cpu()
    conn = sqlite3.connect(db_path)
    rows = 0
    out = Path(db_path).with_suffix(".bare.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
        cursor = conn.execute(BARE_QUERY, (journey_id, org_id))
        while batch := cursor.fetchmany(2000):
            writer.writerows(batch)
            rows += len(batch)
    conn.close()
    return {"seconds": time.perf_counter() - start, "cpu": _cpu() - cpu, "rows": rows, "bytes": out.stat().st_size,
            "peak_mb": _peak_mb()}


def _download(db_path: str, org_id: int, journey_id: int, since: str, out: Path) -> tuple[int, float, float]:
    """Stream the download into `out`; (rows, wall seconds, CPU seconds) of the download alone (the app's imports
    and start-up are not counted: the bare loop has none)."""
    from auditapp import create_app
    from auditapp.auth.models import Organisation
    from auditapp.exports.csvexport import responses_csv
    from auditapp.exports.queries import responses
    from auditapp.extensions import db
    from auditapp.results.queries import Filters

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        filters = Filters(journey_id=journey_id, source=None,  # shoppers and staff, as the bare query
                          date_from=date.fromisoformat(since) if since else None)
        lines = 0
        start, cpu = time.perf_counter(), _cpu()
        with out.open("w", newline="", encoding="utf-8") as f:
            for chunk in responses_csv(responses(org, filters, plain=True), org.timezone or "UTC"):
                f.write(chunk)
                lines += chunk.count("\r\n")
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        db.session.remove()
        db.engine.dispose()
    return lines - 1, seconds, cpu  # less the header


def child_csv(db_path: str, org_id: int, journey_id: int, since: str) -> dict:
    out = Path(db_path).with_suffix(".csv")
    rows, seconds, cpu = _download(db_path, org_id, journey_id, since, out)
    return {"seconds": seconds, "cpu": cpu, "rows": rows, "bytes": out.stat().st_size,
            "peak_mb": _peak_mb()}


def child_memory(db_path: str, org_id: int, journey_id: int, since: str) -> dict:
    import tracemalloc

    out = Path(db_path).with_suffix(".mem.csv")
    # The app and its imports first, so the peak measures the download, not loading the code.
    from auditapp import create_app  # noqa: F401
    from auditapp.exports import csvexport, queries  # noqa: F401

    tracemalloc.start()
    rows, _, _ = _download(db_path, org_id, journey_id, since, out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": rows, "traced_peak_mb": peak / 1e6, "peak_mb": _peak_mb()}


def run_child(step: str, db_path: Path, org_id: int, journey_id: int, since: str = "") -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.csv_bench", "--child", step, "--db", str(db_path),
                           "--org", str(org_id), "--journey", str(journey_id), "--since", since],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=("bare", "csv", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--org", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--journey", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--since", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step = {"bare": child_bare, "csv": child_csv, "memory": child_memory}[args.child]
        print(json.dumps(step(args.db, args.org, args.journey, args.since)))
        return 0

    from bench.dashboard_bench import build

    with tempfile.TemporaryDirectory(prefix="auditapp-csv-") as tmp:
        db_path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        app, org_id, journey_id = build(db_path, args.evaluations, args.seed)
        with app.app_context():
            from auditapp.extensions import db

            db.engine.dispose()
        print(f"data: {args.evaluations:,} evaluations in {time.perf_counter() - started:.1f} s")
        # Best of --repeat, taken in turns: a busy spell of the shared machine hits both, not one.
        bares, ourses = [], []
        for _ in range(args.repeat):
            bares.append(run_child("bare", db_path, org_id, journey_id))
            ourses.append(run_child("csv", db_path, org_id, journey_id))
        bare, ours = min(bares, key=lambda r: r["cpu"]), min(ourses, key=lambda r: r["cpu"])
        if ours["rows"] != bare["rows"]:
            print(f"MISMATCH: the CSV has {ours['rows']:,} answers, the bare loop {bare['rows']:,}")
            return 1
        half = run_child("memory", db_path, org_id, journey_id, "2024-07-01")
        whole = run_child("memory", db_path, org_id, journey_id)
        ratio = ours["cpu"] / bare["cpu"]
        print(f"answers (CSV rows):        {bare['rows']:>12,}")
        for label, step in (("bare csv.writer", bare), ("responses CSV", ours)):
            print(f"{label + ':':26} {step['cpu']:7.2f} s CPU {step['seconds']:7.2f} s wall   peak RSS "
                  f"{step['peak_mb']:5.0f} MB   {step['bytes'] / 1e6:6.1f} MB file")
        print(f"ratio: {ratio:.2f}x (target <= {TARGET_RATIO}x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
        growth = whole["traced_peak_mb"] / half["traced_peak_mb"]
        print(f"memory (tracemalloc peak of the download): {half['rows']:,} rows {half['traced_peak_mb']:.1f} MB, "
              f"{whole['rows']:,} rows {whole['traced_peak_mb']:.1f} MB ({whole['rows'] / half['rows']:.1f}x the rows, "
              f"{growth:.2f}x the memory; peak RSS {half['peak_mb']:.0f} and {whole['peak_mb']:.0f} MB)")
        constant = growth < 1.25
        print(f"streams with constant memory: {'yes' if constant else 'NO'}")
    return 0 if ratio <= TARGET_RATIO and constant else 1


if __name__ == "__main__":
    raise SystemExit(main())
