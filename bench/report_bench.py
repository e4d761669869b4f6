"""How long does the PDF visit report of a 10-moment visit with 6 photos take, and how big is it?

    .venv/bin/python -m bench.report_bench                 # 5 rounds
    .venv/bin/python -m bench.report_bench --rounds 10 --out /tmp/report.pdf

Data: one organisation, the 10-moment journey of tests/factories.py (ten_moment_spec) and one visit with six
phone-sized photos (photo_like_jpeg, about 700 KB each as stored), in a temporary SQLite file and upload folder.

Measured in the same run, alternating, after one warm-up render each (the first render in a process also pays for
importing WeasyPrint and loading fonts, printed separately):
  - report: what GET /api/v1/evaluations/{id}/report.pdf does (load, shrink the photos, template, WeasyPrint);
  - baseline: WeasyPrint rendering a one-paragraph HTML page through the same fetcher.
It prints the median wall and CPU time of each, the ratios report / baseline, and checks the issue's targets: the
report under 2 s (the smaller of wall and CPU time: CPU time is what other processes on a shared machine do not
inflate) and under 2 MB.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0
TARGET_BYTES = 2 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", help="also write the report's PDF here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from auditapp import create_app
    from auditapp.extensions import db
    from auditapp.reports.pdf import html_to_pdf
    from auditapp.reports.services import render_visit_report
    from tests.factories import Factory

    with tempfile.TemporaryDirectory(prefix="auditapp-report-") as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "SECRET_KEY": "bench",
                          "TESTING": True, "UPLOAD_DIR": f"{tmp}/uploads"})
        with app.app_context(), app.test_request_context():
            db.create_all()
            make = Factory()
            org = make.org(name="Bench Org", timezone="Europe/Stockholm")
            shopper = make.user(org, "shopper", name="Bench Shopper")
            location = make.location(org, code="BEN-01", name="Bench Branch")
            evaluation = make.visit_with_photos(org, shopper, location, photos=6)
            evaluation_id = evaluation.id

            def report() -> bytes:
                db.session.expire_all()  # load from the database each time, as a request does
                from auditapp.reports.services import report_evaluation

                loaded = report_evaluation(org.id, shopper, "shopper", evaluation_id)
                return render_visit_report(loaded, org, app.config).pdf

            def baseline() -> bytes:
                return html_to_pdf("<!doctype html><html><body><p>One paragraph.</p></body></html>").pdf

            started = time.perf_counter()
            first = report()
            cold = time.perf_counter() - started
            baseline()
            times: dict[str, list[float]] = {"report": [], "baseline": []}
            cpu: dict[str, list[float]] = {"report": [], "baseline": []}
            for _ in range(args.rounds):
                for name, step in (("baseline", baseline), ("report", report)):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    step()
                    times[name].append(time.perf_counter() - started)
                    cpu[name].append(time.process_time() - started_cpu)
            if args.out:
                Path(args.out).write_bytes(first)

    size = len(first)
    print(f"first render in this process (imports, fonts): {cold:.2f} s wall")
    for name, label in (("baseline", "baseline (one paragraph)"), ("report", "visit report (10 moments, 6 photos)")):
        print(f"{label + ':':38} median {statistics.median(times[name]) * 1000:6.0f} ms wall, "
              f"{statistics.median(cpu[name]) * 1000:6.0f} ms CPU over {args.rounds} rounds")
    wall = statistics.median(times["report"])
    print(f"ratio report / baseline: {wall / statistics.median(times['baseline']):.1f}x wall, "
          f"{statistics.median(cpu['report']) / statistics.median(cpu['baseline']):.1f}x CPU")
    # CPU time is what a shared machine does not inflate; the photo threads make wall time the smaller when idle.
    seconds = min(wall, statistics.median(cpu["report"]))
    ok = seconds < TARGET_SECONDS and size < TARGET_BYTES
    print(f"report {seconds:.2f} s (target < {TARGET_SECONDS:g} s), {size / 1024 / 1024:.2f} MB "
          f"(target < 2 MB): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
