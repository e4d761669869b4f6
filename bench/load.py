"""Load and fault test of POST /api/v1/evaluations: do acknowledged evaluations survive, exactly once?

    .venv/bin/python -m bench.load                      # PostgreSQL and SQLite, 20 s each
    .venv/bin/python -m bench.load --db postgres --restart-postgres --duration 30

For each database it makes a fresh one (PostgreSQL: `auditapp_load_<random>` on the server of DATABASE_URL, dropped
at the end; SQLite: a temporary file), runs `flask db upgrade`, creates an organisation, the café-order journey from
the starter library, locations and N shoppers with API tokens through the app's own services, starts gunicorn on
127.0.0.1 and lets N simulated shoppers (threads) submit evaluations for a fixed time. Shoppers retry: the same
submission again right after it was acknowledged, later, or from two threads at once; after a network error or a
5xx they retry with the same client_uuid until acknowledged. At the end SQL counts what is stored: every
acknowledged client_uuid must be there exactly once, with all its answers and unchanged by 409 conflicts.

`--restart-postgres` restarts the local PostgreSQL cluster mid-load (pg_ctlcluster; this machine runs as root):
requests fail for a moment, clients retry, and still nothing acknowledged may be lost.

Throughput is printed next to a hello-world Flask app (bench/_hello.py) served by the same gunicorn settings, in the
same run, with the same clients. The submission target compares the real endpoint with the bulk-insert baseline
(bench/_baseline.py) under the same load: the same bodies from the same seed, each sent once, for as long; the
replay and fault run then reports its own rate of new evaluations beside it. Everything is bounded: a time limit, a
request cap, loopback addresses only.
Exit status: 0 when nothing was lost, duplicated or changed; 1 otherwise.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench._servers import ROOT, Server, start_gunicorn

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
JOURNEY_SLUG = "cafe-order"
TEXTS = ["Friendly and quick", "Très bien ☕", "Wait was long 😕", "شكرا، كان رائعًا", "Zero\u200bwidth", "=1+1 not a formula"]
SERVER_ERROR_RE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Timeout)): (.{0,120})", re.M)


# --- databases --------------------------------------------------------------------------------------------------


def _postgres_database(base_url: str) -> tuple[str, Callable[[], None]]:
    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(base_url))
    if url.host not in LOOPBACK:
        raise SystemExit(f"refusing to load-test a database that is not on loopback: {url.host}")
    name = f"auditapp_load_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        for _ in range(20):  # right after a restart the server may still be starting up
            try:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except sa.exc.OperationalError:
                time.sleep(0.5)
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def _other_postgres_users(base_url: str) -> list[str]:
    """Databases other sessions are using right now: a restart would cut them off too."""
    from auditapp.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(base_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT DISTINCT datname FROM pg_stat_activity WHERE datname IS NOT NULL AND pid <> pg_backend_pid() "
                "AND datname NOT LIKE 'auditapp_load_%' AND backend_type = 'client backend'")).scalars())
    finally:
        engine.dispose()


def _app_env(url: str, workdir: Path) -> dict:
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "AUDITAPP_ENV": "development",
        "RATELIMIT_STORAGE_URI": "memory://",
        "FLASK_APP": "auditapp",
    }


def _migrate(url: str, env: dict, create_all: bool) -> None:
    """`flask db upgrade`, as in production; then check that the migrations made every table the models know."""
    from auditapp import create_app
    from auditapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": env["SECRET_KEY"], "UPLOAD_DIR": env["UPLOAD_DIR"]})
    with app.app_context():
        if create_all:
            db.create_all()
        else:
            flask = Path(sys.executable).with_name("flask")
            done = subprocess.run([str(flask), "--app", "auditapp", "db", "upgrade"], cwd=ROOT,
                                  env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise SystemExit(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")
        missing = sorted(set(db.metadata.tables) - set(sa.inspect(db.engine).get_table_names()))
        db.engine.dispose()
    if missing:
        raise SystemExit(f"the migrations lag the models (no table {', '.join(missing)}): regenerate them, "
                         "or run with --create-all to measure anyway")


def _empty_evaluations(url: str) -> None:
    """Remove what the baseline wrote, so the real run's checks count its own evaluations only."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in ("answer", "moment_result", "evaluation"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


def statements_per_submission(slug: str) -> tuple[int, int]:
    """(SQL statements, answers) of one valid submission of the library journey `slug`, POSTed in-process through
    the API (token check, validation, scoring, idempotency, audit log, notices): on a temporary SQLite file."""
    from auditapp import create_app
    from auditapp.auth.services import add_user, create_api_token, get_or_create_org
    from auditapp.extensions import db
    from auditapp.journeys.library import get_library_journey
    from auditapp.journeys.services import create_journey_from_spec
    from auditapp.locations.models import Location

    with tempfile.TemporaryDirectory(prefix="auditapp-count-") as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/count.db", "SECRET_KEY": "count",
                          "UPLOAD_DIR": f"{tmp}/uploads", "TESTING": True, "RATELIMIT_ENABLED": False})
        with app.app_context():
            db.create_all()
            org = get_or_create_org("Count", "count")
            journey = create_journey_from_spec(org.id, get_library_journey(slug), library_slug=slug)
            place = Location(org_id=org.id, code="C1", name="Café", region="R")
            db.session.add(place)
            user = add_user(org, "count@example.com", "Count", secrets.token_urlsafe(16), "shopper")
            token = create_api_token(user, org.id, "count")[1]
            db.session.commit()
            fixture = Fixture(journey.id, [place.id], [token],
                              [(m.key, q.key, q.type, q.required, [label for label, _ in (q.options or [])])
                               for m in journey.current_version.moments for q in m.questions],
                              [m.key for m in journey.current_version.moments])
            body = make_submission(random.Random(3), fixture)
            db.session.remove()  # the request starts with an empty session, as every request in gunicorn does
            seen: list[str] = []
            sa.event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
            if os.environ.get("BENCH_SHOW_SQL"):
                sa.event.listen(db.engine, "before_cursor_execute", lambda *a: print("  ", " ".join(a[2].split())[:140]))
            reply = app.test_client().post("/api/v1/evaluations", json=body, headers={"Authorization": f"Bearer {token}"})
            if reply.status_code != 201:
                raise SystemExit(f"counting submission failed: {reply.status_code} {reply.get_data(as_text=True)[:300]}")
            db.session.remove()
            db.engine.dispose()
    return len(seen), len(body["answers"])


@dataclass
class Fixture:
    journey_id: int
    location_ids: list[int]
    tokens: list[str]
    questions: list[tuple[str, str, str, bool, list[str]]]  # moment key, question key, type, required, option labels
    moment_keys: list[str]


def _setup_data(url: str, env: dict, shoppers: int, locations: int) -> Fixture:
    """Organisation, journey, locations and shoppers with tokens, made by the app's services (like a manager would)."""
    from auditapp import create_app

    # The app first: create_app imports the packages in the order that avoids import cycles.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": env["SECRET_KEY"], "UPLOAD_DIR": env["UPLOAD_DIR"]})
    from auditapp.auth.services import add_user, create_api_token, get_or_create_org
    from auditapp.extensions import db
    from auditapp.journeys.library import get_library_journey
    from auditapp.journeys.services import create_journey_from_spec
    from auditapp.locations.models import Location

    with app.app_context():
        org = get_or_create_org("Load test café chain", "load-test")
        spec = get_library_journey(JOURNEY_SLUG)
        journey = create_journey_from_spec(org.id, spec, library_slug=JOURNEY_SLUG)
        places = [Location(org_id=org.id, code=f"C{i:03d}", name=f"Café {i}", region="Load") for i in range(locations)]
        db.session.add_all(places)
        tokens = []
        for i in range(shoppers):
            user = add_user(org, f"shopper{i}@load.example", f"Shopper {i}", secrets.token_urlsafe(16), "shopper")
            tokens.append(create_api_token(user, org.id, "load test")[1])
        db.session.commit()
        questions = [(m.key, q.key, q.type, q.required, [label for label, _ in (q.options or [])])
                     for m in journey.current_version.moments for q in m.questions]
        fixture = Fixture(journey.id, [p.id for p in places], tokens, questions,
                          [m.key for m in journey.current_version.moments])
        db.session.remove()
        db.engine.dispose()
    return fixture


# --- one submission ---------------------------------------------------------------------------------------------


def _value(rng: random.Random, qtype: str, options: list[str]):
    if qtype == "yes_no":
        return rng.choice(["yes", "no"])
    if qtype == "mnm":
        return rng.choice(["miserable", "neutral", "magical"])
    if qtype == "rating":
        return rng.randint(1, 5)
    if qtype == "number":
        return rng.choice([rng.randint(0, 600), round(rng.uniform(0, 300), 1)])
    if qtype == "choice":
        return rng.choice(options)
    return rng.choice(TEXTS)


def make_submission(rng: random.Random, fx: Fixture) -> dict:
    """A valid evaluation: every required question answered, some others skipped or n/a, photos left out."""
    answers = []
    for moment, key, qtype, required, options in fx.questions:
        if qtype == "photo" or (not required and rng.random() < 0.15):
            continue
        value = "na" if (not required and key != "verdict" and rng.random() < 0.1) else _value(rng, qtype, options)
        answer = {"moment": moment, "question": key, "value": value}
        if rng.random() < 0.1:
            answer["note"] = rng.choice(TEXTS)
        answers.append(answer)
    finished = datetime.now(UTC) - timedelta(minutes=rng.randint(1, 600))
    started = finished - timedelta(seconds=rng.randint(120, 2400))
    return {
        "client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "journey_id": fx.journey_id,
        "location_id": rng.choice(fx.location_ids),
        "source": "shopper",
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "finished_at": finished.isoformat().replace("+00:00", "Z"),
        "notes": f"{rng.choice(TEXTS)} #{rng.getrandbits(32):08x}",
        "answers": answers,
        "durations": {key: rng.randint(5, 300) for key in rng.sample(fx.moment_keys, k=3)},
    }


# --- the clients ------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP answer
    body: bytes
    seconds: float
    error: str = ""


def send(port: int, method: str, path: str, body: bytes | None = None, token: str | None = None,
         timeout: float = 30.0) -> Reply:
    """One request on a fresh connection (gunicorn's sync workers close it after each response anyway)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, data, time.perf_counter() - started)
    except TimeoutError:
        return Reply(0, b"", time.perf_counter() - started, "timeout")
    except ConnectionRefusedError:
        return Reply(0, b"", time.perf_counter() - started, "connection refused")
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return Reply(0, b"", time.perf_counter() - started, "connection reset")
    except (OSError, http.client.HTTPException) as error:
        return Reply(0, b"", time.perf_counter() - started, type(error).__name__)
    finally:
        conn.close()


@dataclass
class Ack:
    evaluation_id: int
    notes: str
    answers: int


@dataclass
class Tally:
    """Everything the clients saw; one lock guards it all (cheap next to an HTTP request)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    expected: Counter = field(default_factory=Counter)  # e.g. the 409s the conflict test asks for
    errors: Counter = field(default_factory=Counter)
    acked: dict[str, Ack] = field(default_factory=dict)
    created: Counter = field(default_factory=Counter)  # 201s per client_uuid: more than one is a duplicate
    problems: list[str] = field(default_factory=list)
    gave_up: int = 0
    requests: int = 0
    sample_bodies: dict[str, bytes] = field(default_factory=dict)

    def note_reply(self, reply: Reply, expected: int | None = None) -> None:
        with self.lock:
            self.requests += 1
            if reply.status:
                self.latencies.append(reply.seconds)
                self.statuses[reply.status] += 1
                if reply.status == expected:
                    self.expected[reply.status] += 1
                elif reply.status not in (200, 201):
                    kind = f"HTTP {reply.status}"
                    self.errors[kind] += 1
                    self.sample_bodies.setdefault(kind, reply.body[:300])
            else:
                self.errors[reply.error] += 1

    def note_ack(self, body: dict, reply: Reply) -> None:
        try:
            data = json.loads(reply.body)
            evaluation_id = int(data["id"])
        except (ValueError, KeyError, TypeError):
            with self.lock:
                self.problems.append(f"{reply.status} without an evaluation id: {reply.body[:200]!r}")
            return
        client_uuid = body["client_uuid"]
        with self.lock:
            if reply.status == 201:
                self.created[client_uuid] += 1
            if data.get("client_uuid") != client_uuid:
                self.problems.append(f"{client_uuid}: the answer names client_uuid {data.get('client_uuid')!r}")
            first = self.acked.get(client_uuid)
            if first is None:
                self.acked[client_uuid] = Ack(evaluation_id, body["notes"], len(body["answers"]))
            elif first.evaluation_id != evaluation_id:
                self.problems.append(f"{client_uuid}: acknowledged as {first.evaluation_id} and as {evaluation_id}")


@dataclass
class Plan:
    port: int
    path: str
    fixture: Fixture | None
    stop_at: float  # no new submissions after this
    give_up_at: float  # retries of unacknowledged submissions end here
    max_requests: int
    p_replay_now: float = 0.15
    p_replay_later: float = 0.10
    p_concurrent: float = 0.10
    p_conflict: float = 0.03
    fresh_only: bool = False  # the submission baseline: each submission once, no replays (it has no idempotency)


class Shopper(threading.Thread):
    def __init__(self, index: int, token: str, plan: Plan, tally: Tally, seed: int):
        super().__init__(name=f"shopper-{index}", daemon=True)
        self.token, self.plan, self.tally = token, plan, tally
        self.rng = random.Random(seed)
        self.later: list[dict] = []

    def post(self, body: dict, expected: int | None = None) -> Reply:
        reply = send(self.plan.port, "POST", self.plan.path, json.dumps(body).encode(), self.token)
        self.tally.note_reply(reply, expected)
        return reply

    def submit_until_acked(self, body: dict) -> bool:
        """Send until 200/201; after a network error or a 5xx wait a little and send the very same body again."""
        attempt = 0
        while time.monotonic() < self.plan.give_up_at and self.tally.requests < self.plan.max_requests:
            reply = self.post(body)
            if reply.status in (200, 201):
                self.tally.note_ack(body, reply)
                return True
            if reply.status and reply.status < 500:
                with self.tally.lock:
                    self.tally.problems.append(f"{body['client_uuid']}: {reply.status} {reply.body[:200]!r}")
                return False
            attempt += 1
            time.sleep(min(1.0, 0.05 * 2 ** min(attempt, 5)) * (0.5 + self.rng.random()))
        with self.tally.lock:
            self.tally.gave_up += 1
        return False

    def run(self) -> None:
        plan, rng = self.plan, self.rng
        while time.monotonic() < plan.stop_at and self.tally.requests < plan.max_requests:
            if plan.fixture is None:  # the hello-world baseline: same clients, trivial endpoint
                self.tally.note_reply(send(plan.port, "POST", plan.path, b'{"hello": "world"}', self.token))
                continue
            if plan.fresh_only:  # the submission baseline: the same bodies, each sent once
                self.post(make_submission(rng, plan.fixture))
                continue
            if self.later and rng.random() < 0.3:
                self.replay(self.later.pop(rng.randrange(len(self.later))))
                continue
            body = make_submission(rng, plan.fixture)
            if rng.random() < plan.p_concurrent:
                self.twice_at_once(body)
            elif not self.submit_until_acked(body):
                continue
            roll = rng.random()
            if roll < plan.p_replay_now:
                self.replay(body)
            elif roll < plan.p_replay_now + plan.p_replay_later:
                self.later.append(body)
            elif roll < plan.p_replay_now + plan.p_replay_later + plan.p_conflict:
                self.conflict(body)

    def replay(self, body: dict) -> None:
        self.submit_until_acked(body)

    def twice_at_once(self, body: dict) -> None:
        """The same submission from two threads at the same instant (a phone retrying while the first is in flight)."""
        barrier = threading.Barrier(2)

        def go():
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            self.submit_until_acked(body)

        twin = threading.Thread(target=go, daemon=True)
        twin.start()
        go()
        twin.join(timeout=60)

    def conflict(self, body: dict) -> None:
        """Same client_uuid, different content: must be 409 and must change nothing (checked in SQL at the end)."""
        changed = {**body, "notes": body["notes"] + " (changed)"}
        reply = self.post(changed, expected=409)
        if reply.status != 409 and (reply.status < 500 and reply.status != 0):  # a fault may hide the answer; fine
            with self.tally.lock:
                self.tally.problems.append(f"{body['client_uuid']}: changed content got {reply.status}, not 409")


# --- a run --------------------------------------------------------------------------------------------------------


def drive(port: int, path: str, tokens: list[str], fixture: Fixture | None, seconds: float, max_requests: int,
          grace: float, seed: int, during=None, fresh_only: bool = False) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    plan = Plan(port, path, fixture, started + seconds, started + seconds + grace, max_requests, fresh_only=fresh_only)
    shoppers = [Shopper(i, token, plan, tally, seed * 1000 + i) for i, token in enumerate(tokens)]
    for shopper in shoppers:
        shopper.start()
    helper = None
    if during is not None:
        helper = threading.Thread(target=during, args=(started,), daemon=True)
        helper.start()
    for shopper in shoppers:
        shopper.join(timeout=seconds + grace + 90)
    if helper is not None:
        helper.join(timeout=120)
    elapsed = time.monotonic() - started
    return tally, elapsed


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Stored:
    lost: list[str]
    duplicated: int
    wrong_id: list[str]
    partial: list[str]
    changed: list[str]
    unacknowledged: int
    total: int


def check_database(url: str, tally: Tally) -> Stored:
    """Count with SQL what is really stored, and compare with what the clients were told."""
    engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        for _ in range(60):
            try:
                with engine.connect() as conn:
                    rows = conn.execute(sa.text(
                        "SELECT e.client_uuid, e.id, e.notes, "
                        "(SELECT count(*) FROM answer a WHERE a.evaluation_id = e.id) FROM evaluation e"
                    )).all()
                break
            except sa.exc.OperationalError:
                time.sleep(0.5)  # PostgreSQL may still be coming back
        else:
            raise SystemExit("cannot read the database to check it")
    finally:
        engine.dispose()
    by_uuid: dict[str, list] = {}
    for client_uuid, evaluation_id, notes, answers in rows:
        by_uuid.setdefault(client_uuid, []).append((evaluation_id, notes, answers))
    lost, wrong_id, partial, changed = [], [], [], []
    for client_uuid, ack in tally.acked.items():
        found = by_uuid.get(client_uuid)
        if not found:
            lost.append(client_uuid)
            continue
        evaluation_id, notes, answers = found[0]
        if evaluation_id != ack.evaluation_id:
            wrong_id.append(client_uuid)
        if answers != ack.answers:
            partial.append(f"{client_uuid}: {answers} answers stored, {ack.answers} sent")
        if notes != ack.notes:
            changed.append(client_uuid)
    duplicated = sum(len(v) - 1 for v in by_uuid.values()) + sum(n - 1 for n in tally.created.values() if n > 1)
    unacknowledged = sum(1 for u in by_uuid if u not in tally.acked)
    return Stored(lost, duplicated, wrong_id, partial, changed, unacknowledged, len(rows))


def restart_postgres_later(delay: float, log: list[str]):
    """A `during` hook: restart the local cluster `delay` seconds into the run."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or not shutil.which("pg_ctlcluster"):
        raise SystemExit("--restart-postgres needs a local Debian PostgreSQL cluster (pg_ctlcluster, /etc/postgresql)")
    version = versions[-1]

    def hook(started: float) -> None:
        time.sleep(max(0.0, started + delay - time.monotonic()))
        t0 = time.monotonic()
        done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                              capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
        log.append(f"PostgreSQL {version} restarted at t={t0 - started:.1f} s, took {took:.1f} s, exit {done.returncode}"
                   + (f": {done.stderr.strip()}" if done.returncode else ""))

    return hook


def server_exceptions(server: Server) -> Counter:
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return Counter()
    return Counter(f"{name}: {message.strip()[:90]}" for name, message in SERVER_ERROR_RE.findall(text))


def report(title: str, tally: Tally, elapsed: float, baseline_rps: float | None, stored: Stored | None,
           exceptions: Counter | None = None, notes: list[str] = ()) -> bool:
    rps = len(tally.latencies) / elapsed if elapsed else 0.0
    print(f"\n== {title}")
    for line in notes:
        print(f"   {line}")
    print(f"   requests: {tally.requests} in {elapsed:.1f} s: {rps:.0f} responses/s"
          + (f" ({rps / baseline_rps:.1%} of hello world at {baseline_rps:.0f}/s)" if baseline_rps else ""))
    if tally.latencies:
        print(f"   latency: p50 {percentile(tally.latencies, 50) * 1000:.0f} ms, p95 {percentile(tally.latencies, 95) * 1000:.0f} ms,"
              f" p99 {percentile(tally.latencies, 99) * 1000:.0f} ms, max {max(tally.latencies) * 1000:.0f} ms")
    print(f"   statuses: {dict(sorted(tally.statuses.items()))}")
    print(f"   errors by kind: {dict(tally.errors.most_common()) or 'none'}"
          + (f" (plus expected: {dict(tally.expected)} from the changed-content test)" if tally.expected else ""))
    for kind, sample in tally.sample_bodies.items():
        print(f"     {kind} e.g. {sample[:200]!r}")
    if exceptions:
        print("   server exceptions (gunicorn log):")
        for text, n in exceptions.most_common(8):
            print(f"     {n} x {text}")
    if stored is None:
        return True
    acked = len(tally.acked)
    print(f"   acknowledged evaluations: {acked} ({acked / elapsed:.0f}/s); stored: {stored.total}; "
          f"stored but never acknowledged (reply lost in a fault, fine): {stored.unacknowledged}; gave up: {tally.gave_up}")
    print(f"   LOST: {len(stored.lost)}   DUPLICATED: {stored.duplicated}   wrong id: {len(stored.wrong_id)}   "
          f"partial: {len(stored.partial)}   changed by a 409 replay: {len(stored.changed)}   client-side problems: {len(tally.problems)}")
    for line in (stored.lost[:5] + stored.wrong_id[:5] + stored.partial[:5] + stored.changed[:5] + tally.problems[:10]):
        print(f"     {line}")
    if not tally.acked:
        print("   NOTHING ACKNOWLEDGED: the run proves nothing")
    return bool(tally.acked) and not (stored.lost or stored.duplicated or stored.wrong_id or stored.partial
                                      or stored.changed or tally.problems or tally.gave_up)


def run_target(kind: str, args, baseline_rps: float) -> bool:
    workdir = Path(tempfile.mkdtemp(prefix=f"auditapp-load-{kind}-"))
    drop = None
    server = None
    try:
        if kind == "postgres":
            url, drop = _postgres_database(args.database_url)
        else:
            url = f"sqlite:///{workdir / 'load.db'}"
        env = _app_env(url, workdir)
        t0 = time.monotonic()
        _migrate(url, env, args.create_all)
        fixture = _setup_data(url, env, args.shoppers, args.locations)
        setup_notes = [f"database: {sa.make_url(url).render_as_string(hide_password=True)}; "
                       f"migrated and set up in {time.monotonic() - t0:.1f} s"]
        # The submission baseline first, on the same database and gunicorn settings: same bodies, no validation.
        with start_gunicorn("bench._baseline:app", env=env, workers=args.workers, threads=args.threads,
                            ready_path="/login") as plain:
            base_tally, base_elapsed = drive(plain.port, "/bench/baseline-evaluations", fixture.tokens, fixture,
                                             args.baseline_duration, args.max_requests, 5.0, args.seed + 7,
                                             fresh_only=True)
        report(f"{kind} submission baseline (bulk inserts, no validation): {args.shoppers} shoppers, {_settings(args)}",
               base_tally, base_elapsed, baseline_rps, None)
        _empty_evaluations(url)
        server = start_gunicorn("wsgi:app", env=env, workers=args.workers, threads=args.threads, ready_path="/login")
        # The baseline's load on the real endpoint: the same bodies (same seed), each sent once, for as long. The
        # throughput target compares these two; the run after it adds replays, twins and conflicts.
        fresh_tally, fresh_elapsed = drive(server.port, "/api/v1/evaluations", fixture.tokens, fixture,
                                           args.baseline_duration, args.max_requests, 5.0, args.seed + 7,
                                           fresh_only=True)
        report(f"{kind} real submissions under the baseline's load (each sent once): {args.shoppers} shoppers, "
               f"{_settings(args)}", fresh_tally, fresh_elapsed, baseline_rps, None)
        _empty_evaluations(url)
        during = None
        restart_log: list[str] = []
        if kind == "postgres" and args.restart_postgres:
            during = restart_postgres_later(args.duration * 0.4, restart_log)
        tally, elapsed = drive(server.port, "/api/v1/evaluations", fixture.tokens, fixture, args.duration,
                               args.max_requests, args.grace, args.seed, during)
        exceptions = server_exceptions(server)
        server.keep_log = args.keep_logs
        server.stop()
        if args.keep_logs:
            print(f"   gunicorn log kept: {server.log_path}")
        stored = check_database(url, tally)
        title = f"{kind}{' with a restart mid-load' if during else ''}: {args.shoppers} shoppers, {_settings(args)}"
        ok = report(title, tally, elapsed, baseline_rps, stored, exceptions, setup_notes + restart_log)
        base_rps = base_tally.statuses.get(201, 0) / base_elapsed if base_elapsed else 0.0
        real_rps = len(tally.created) / elapsed if elapsed else 0.0  # new evaluations stored per second
        base_p95 = percentile(base_tally.latencies, 95) * 1000
        p95 = percentile(tally.latencies, 95) * 1000
        share = real_rps / base_rps if base_rps else 0.0
        fresh_rps = fresh_tally.statuses.get(201, 0) / fresh_elapsed if fresh_elapsed else 0.0
        fresh_share = fresh_rps / base_rps if base_rps else 0.0
        fresh_p95 = percentile(fresh_tally.latencies, 95) * 1000
        print(f"   SUBMISSIONS vs BASELINE, the same load (each body once): {fresh_rps:.0f} new evaluations/s against "
              f"{base_rps:.0f}/s for the bulk-insert baseline = {fresh_share:.0%} (target >= 50%: "
              f"{'met' if fresh_share >= 0.5 else 'NOT met'}); p95 {fresh_p95:.0f} ms (baseline {base_p95:.0f} ms; "
              f"target < 300 ms: {'met' if fresh_p95 < 300 else 'NOT met'})")
        print(f"   with replays, twins and conflicts besides (a quarter of the requests): {real_rps:.0f} new "
              f"evaluations/s = {share:.0%} of the baseline; p95 {p95:.0f} ms")
        return ok
    finally:
        if server is not None:
            server.stop()
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)


def _settings(args) -> str:
    return f"gunicorn {args.workers} {'gthread x' + str(args.threads) if args.threads > 1 else 'sync'} workers"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("both", "postgres", "sqlite"), default="both")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per database (default 20)")
    parser.add_argument("--baseline-duration", type=float, default=10.0, help="seconds of hello-world load (default 10)")
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="more than 1: gthread workers with this many threads")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop sending after this many requests")
    parser.add_argument("--grace", type=float, default=45.0, help="seconds after the end to finish retrying (default 45)")
    parser.add_argument("--restart-postgres", action="store_true", help="restart the local PostgreSQL cluster mid-load")
    parser.add_argument("--force-restart", action="store_true", help="restart even when other sessions use PostgreSQL")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="PostgreSQL server to create the load database on (default: $DATABASE_URL or the local test one)")
    parser.add_argument("--create-all", action="store_true",
                        help="make the schema with create_all instead of `flask db upgrade` (while migrations lag the models)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the app's gunicorn log (path printed)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.restart_postgres and args.db == "sqlite":
        parser.error("--restart-postgres needs --db postgres or both")
    if not args.database_url.startswith(("postgres", "postgresql")) and args.db != "sqlite":
        parser.error(f"--database-url is not PostgreSQL: {args.database_url}")

    if args.restart_postgres and not args.force_restart:
        others = _other_postgres_users(args.database_url)
        if others:
            parser.exit(2, f"other sessions are using PostgreSQL now (databases {', '.join(others)}); a restart would "
                           "break them: try again later, or pass --force-restart\n")
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    for slug in (JOURNEY_SLUG, "dentist-visit"):
        count, answers = statements_per_submission(slug)
        print(f"statements per submission, {slug} journey ({answers} answers): {count}")
    with start_gunicorn("bench._hello:app", workers=args.workers, threads=args.threads) as hello:
        tally, elapsed = drive(hello.port, "/", ["none"] * args.shoppers, None, args.baseline_duration, args.max_requests,
                               5.0, args.seed)
    report(f"hello world baseline: {args.shoppers} clients, {_settings(args)}", tally, elapsed, None, None)
    baseline_rps = len(tally.latencies) / elapsed if elapsed else 0.0
    ok = True
    for kind in kinds:
        ok = run_target(kind, args, baseline_rps) and ok
    print("\nRESULT:", "nothing lost, duplicated or changed" if ok else "PROBLEMS (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
