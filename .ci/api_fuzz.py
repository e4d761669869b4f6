#!/usr/bin/env python3
"""CI: Schemathesis against the running app's /api/v1/openapi.json, with real tokens (issue 16).

1. A fresh database: a SQLite file in a temporary folder, or, when DATABASE_URL names a PostgreSQL server, a new
   database on that server (dropped at the end). Migrated with Alembic (what `flask db upgrade` runs).
2. One organisation with data, made through the app's own services: locations in two regions, a user of every role,
   the starter library's Café order journey, an approved secret-shopper visit, an open dispute on it, and an API
   token per role.
3. The app under gunicorn on a free loopback port, with uploads, exports and the task queue in the temporary folder
   (the queue in memory: jobs stay queued, nothing is mailed or delivered).
4. `schemathesis run <url>/api/v1/openapi.json` once per token: every check (`--checks all`), every phase
   (examples, coverage, fuzzing and stateful, which follows the document's `links`), a bounded number of examples
   per operation, a timeout per request and one for the whole run. Schemathesis 4 runs Hypothesis without a
   deadline per example; the request timeout stands in for it, and each run has a wall-clock limit.
5. The server is stopped and the database dropped, whatever happened. Exit 1 on any failure Schemathesis reports,
   on a run over its time limit, and when the server logged a traceback.

    .venv/bin/python .ci/api_fuzz.py [--max-examples 10] [--seed 16] [--roles admin,shopper] [--time-factor 1] [--keep]

FUZZ_SEED and FUZZ_MAX_EXAMPLES override the defaults (a fixed seed: CI runs are repeatable; try other seeds
locally to look further).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 20  # seconds per request (the 2-core CI machine is shared)
ALL_PHASES = "examples,coverage,fuzzing,stateful"


def _ops(*operation_ids: str) -> list[str]:
    return [arg for op in operation_ids for arg in ("--include-operation-id", op)]


# Which token drives which operations, and the wall-clock limit of each run (seconds). The admin's token reaches every
# operation a manager's does, and registers webhooks; the location manager's opens disputes (place-scoped roles only)
# and sees scoped results; the shopper's is the phone's. Operation ids are those of auditapp/api/openapi.py.
RUNS = [
    ("admin", [], 100),
    ("location_manager", _ops("listEvaluations", "getEvaluation", "openDispute", "getScorecard", "getEvaluationReport"), 35),
    ("shopper", ["--include-tag", "capture", *_ops("getEvaluation")], 35),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def fresh_database(tmp: Path):
    """The URL of an empty database; a PostgreSQL one is dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp / 'fuzz.db'}"
        return
    import sqlalchemy as sa

    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(base))
    name = f"auditapp_fuzz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_env(tmp: Path, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "AUDITAPP_", "FLASK_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="fuzz-" + uuid.uuid4().hex, UPLOAD_DIR=str(tmp / "uploads"),
               EXPORT_DIR=str(tmp / "exports"), TASK_QUEUE_URL="memory://", RATELIMIT_STORAGE_URI="memory://",
               PYTHONUNBUFFERED="1")
    env.pop("BASE_URL", None)
    return env


def prepare(env: dict) -> dict[str, str]:
    """Migrate and fill the database; returns {role: token}. Runs in this process with the server's settings."""
    os.environ.update(env)
    import flask_migrate

    from auditapp import create_app
    from auditapp.auth.services import add_user, create_api_token, get_or_create_org
    from auditapp.disputes.services import open_dispute
    from auditapp.evaluations.services import submit_evaluation
    from auditapp.extensions import db
    from auditapp.journeys.services import copy_library_journey
    from auditapp.locations.models import Location
    from auditapp.timeutil import utcnow
    from auditapp.visits.review import approve

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})  # throwaway users: a cheap hash
    with app.app_context():
        flask_migrate.upgrade()
        org = get_or_create_org("Fuzz Foods", "fuzz", "Europe/Stockholm")
        places = {}
        for code, name, region in (("001", "City Centre", "North"), ("002", "Harbour", "North"), ("003", "Airport", "South")):
            places[code] = Location(org_id=org.id, code=code, name=name, region=region)
            db.session.add(places[code])
        db.session.flush()
        users = {
            "admin": add_user(org, "admin@fuzz.example", "Ada Admin", "fuzz-password-1", "admin"),
            "manager": add_user(org, "manager@fuzz.example", "Max Manager", "fuzz-password-1", "manager"),
            "regional_manager": add_user(org, "region@fuzz.example", "Rita Regional", "fuzz-password-1",
                                         "regional_manager", regions=["North"]),
            "location_manager": add_user(org, "site@fuzz.example", "Cleo Centre", "fuzz-password-1", "location_manager",
                                         location_ids=[places["001"].id]),
            "shopper": add_user(org, "shopper@fuzz.example", "Sam Shopper", "fuzz-password-1", "shopper"),
            "staff": add_user(org, "staff@fuzz.example", "Tess Staff", "fuzz-password-1", "staff",
                              location_id=places["001"].id),
        }
        journey = copy_library_journey(org.id, "cafe-order", user_id=users["manager"].id)
        db.session.flush()
        answers = []
        for moment in journey.current_version.moments:
            for question in moment.questions:
                value = {"yes_no": "no" if question.critical else "yes", "rating": 4, "number": 30, "mnm": "neutral",
                         "text": "Fine", "choice": question.options[0][0] if question.options else None}.get(question.type)
                if value is not None:
                    answers.append({"moment": moment.key, "question": question.key, "value": value})
        started = utcnow().replace(microsecond=0) - __import__("datetime").timedelta(hours=2)
        result = submit_evaluation(org.id, users["shopper"], "shopper", {
            "client_uuid": "fuzz-visit-0001", "journey_id": journey.id, "location_id": places["001"].id,
            "source": "shopper", "started_at": started.isoformat(), "answers": answers})
        evaluation = result.evaluation
        approve(evaluation, users["manager"])
        disputed = next(a for a in answers if a["value"] == "no")
        open_dispute(evaluation, users["location_manager"], "location_manager", moment_key=disputed["moment"],
                     question_key=disputed["question"], reason="The allergen folder was on the counter.")
        tokens = {role: create_api_token(user, org.id, "fuzz")[1] for role, user in users.items()}
        db.session.commit()
        print(f"   organisation {org.slug}: journey {journey.id}, locations {[p.id for p in places.values()]}, "
              f"approved evaluation {evaluation.id} with an open dispute, tokens for {', '.join(tokens)}")
        db.session.remove()
        db.engine.dispose()
    return tokens


@contextlib.contextmanager
def server(env: dict, port: int, log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"{HOST}:{port}", "--workers", "1", "--threads", "4",
             "--timeout", "60", "--access-logfile", "-", "--access-logformat", '%(s)s %(M)sms "%(r)s"', "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"FAIL: gunicorn exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/openapi.json", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"FAIL: the server did not answer within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fuzz(url: str, role: str, token: str, extra: list[str], *, max_examples: int, seed: int, timeout: float,
         report_dir: Path) -> bool:
    """One Schemathesis run; True when it found nothing and finished in time."""
    command = [
        str(BIN / "schemathesis"), "--config-file", str(ROOT / ".ci" / "schemathesis.toml"), "run", url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--phases", ALL_PHASES,
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--request-timeout", str(REQUEST_TIMEOUT),
        "--workers", "1",
        "--generation-database", "none",
        "--suppress-health-check", "too_slow",
        "--no-color",
        "--report", "junit", "--report-dir", str(report_dir / role),
        *extra,
    ]
    print(f"== schemathesis as the {role} ({' '.join(extra) or 'every operation'})", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=report_dir, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"FAIL: schemathesis as the {role} ran over its time limit ({timeout:.0f} s): lower --max-examples",
              file=sys.stderr)
        return False
    print(f"   {role}: exit {done.returncode} in {time.monotonic() - started:.0f} s", flush=True)
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("FUZZ_MAX_EXAMPLES", "10")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "16")))
    parser.add_argument("--roles", default=",".join(role for role, _, _ in RUNS), help="which token runs, comma separated")
    parser.add_argument("--time-factor", type=float, default=1.0,
                        help="multiply each run's time limit (for deeper runs with more examples, outside CI)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs, reports)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="auditapp-fuzz-"))
    started = time.monotonic()
    ok = True
    try:
        with fresh_database(tmp) as database_url:
            print(f"== API fuzzing: database {database_url.split('@')[-1]}, folder {tmp}", flush=True)
            env = app_env(tmp, database_url)
            tokens = prepare(env)
            port = free_port()
            log = tmp / "server.log"
            with server(env, port, log):
                url = f"http://{HOST}:{port}/api/v1/openapi.json"
                wanted = args.roles.split(",")
                for role, extra, limit in RUNS:
                    if role in wanted:
                        ok &= fuzz(url, role, tokens[role], extra, max_examples=args.max_examples, seed=args.seed,
                                   timeout=limit * args.time_factor, report_dir=tmp)
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                ok = False
                print("FAIL: the server logged a traceback:\n" + text[text.index("Traceback"):][:4000], file=sys.stderr)
    finally:
        if args.keep or not ok:
            print(f"   kept {tmp} (server.log, junit reports)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"== API fuzzing {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
