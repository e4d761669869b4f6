"""Does a 100,000-evaluation scorecard complete from the web UI, even when its worker is killed mid-way?

    .venv/bin/python -m bench.export_job_bench                          # 100,000 evaluations, SQLite, SQLite queue
    .venv/bin/python -m bench.export_job_bench --kill-worker-at 0.3     # kill -9 the worker at 30 %, start another
    .venv/bin/python -m bench.export_job_bench --evaluations 10000 --db postgres --queue redis

Data: the generator of bench/dashboard_bench.py (one organisation, the 10-moment airline journey, 40 locations,
N evaluations over two years, 10 verdict answers each) in a temporary SQLite file; with `--db postgres` the same
rows are copied into a database of its own (`auditapp_jobbench_<random>` on the server of DATABASE_URL, dropped at
the end). A manager with a known password is added through auth.services.add_user.

Then, as in production: gunicorn (bench/_servers.py) on a free loopback port and `flask worker` as a separate
process, both with the same environment (TASK_QUEUE_URL: a SQLite queue file in the temporary folder, or with
`--queue redis` the Redis of $BENCH_REDIS_URL, default redis://127.0.0.1:6379/14, under a queue name of its own).
A client with a cookie jar does what a browser does: GET /login, POST the form with its CSRF token, open the
journey's dashboard (all time, shoppers and staff), follow its "Download scorecard" link (above
EXPORT_INLINE_MAX_ROWS it answers 303 to the job page), read the status URL from the job page and poll it every
second, as exportjob.js does, printing samples; then downloads the file and counts its Responses rows with openpyxl
(read-only), which must equal the answers SQL counts in the database.

`--kill-worker-at F`: when the progress passes F, the worker gets SIGKILL and a new one is started; the job must
still finish (the sweep gives it back to the queue once its lease has run out: `--lease-seconds`, default 30 here,
120 in the app) with the same row count.

Baseline, same run, same data, same filters: `flask export-scorecard` (the CLI writes the same workbook in one
process); the figure is job wall time / CLI wall time. Peak memory is VmHWM of each process (/proc/<pid>/status).
Exit status 0 when the job finished with the right number of rows.
"""
from __future__ import annotations

import argparse
import contextlib
import html
import http.cookiejar
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench._servers import ROOT, Server, start_gunicorn

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
EMAIL = "manager@jobbench.example"
PASSWORD = "bench-manager-password"  # noqa: S105 (a throwaway account in a throwaway database)
COUNTED = ("submitted", "approved", "returned")


# --- data ------------------------------------------------------------------------------------------------------


def build_data(db_path: Path, evaluations: int, seed: int) -> tuple[int, int, int]:
    """The dashboard bench's data plus a manager; returns (org id, journey id, answers the scorecard counts)."""
    from bench.dashboard_bench import build

    app, org_id, journey_id = build(db_path, evaluations, seed)
    from auditapp.auth.models import Organisation
    from auditapp.auth.services import add_user
    from auditapp.extensions import db

    with app.app_context():
        org = db.session.get(Organisation, org_id)
        add_user(org, EMAIL, "Bench Manager", PASSWORD, "manager")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    with sa.create_engine(f"sqlite:///{db_path}").connect() as conn:
        answers = conn.execute(sa.text(
            "SELECT count(*) FROM answer a JOIN evaluation e ON e.id = a.evaluation_id "
            "WHERE e.org_id = :org AND e.journey_id = :journey AND e.status IN ('submitted', 'approved', 'returned')"),
            {"org": org_id, "journey": journey_id}).scalar_one()
    return org_id, journey_id, answers


def postgres_database(base_url: str) -> tuple[str, Callable[[], None]]:
    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(base_url))
    if url.host not in LOOPBACK:
        raise SystemExit(f"refusing to use a database server that is not on loopback: {url.host}")
    name = f"auditapp_jobbench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def copy_to_postgres(db_path: Path, url: str, batch: int = 20_000) -> None:
    """Every table of the models, from the SQLite file into `url` (schema by create_all), sequences moved on."""
    from auditapp.extensions import db

    source, target = sa.create_engine(f"sqlite:///{db_path}"), sa.create_engine(url)
    db.metadata.create_all(target)
    with source.connect() as src, target.begin() as dst:
        for table in db.metadata.sorted_tables:
            result = src.execute(sa.select(table)).mappings()
            while chunk := result.fetchmany(batch):
                dst.execute(table.insert(), [dict(row) for row in chunk])
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto"):
                dst.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{pk[0].name}'), "
                                    f"coalesce((SELECT max(\"{pk[0].name}\") FROM \"{table.name}\"), 0) + 1, false)"))
        dst.execute(sa.text("ANALYZE"))
    source.dispose()
    target.dispose()


# --- processes -------------------------------------------------------------------------------------------------


def peak_mb(pid: int) -> float | None:
    """VmHWM (peak resident memory) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (/proc/<pid>/stat), which other processes on the machine do not inflate."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Watched:
    """A child process whose peak memory is sampled until it ends (VmHWM is gone once it has been reaped)."""

    def __init__(self, cmd: list[str], env: dict, log: Path):
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.peak: float | None = None
        self.cpu: float | None = None
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while self.process.poll() is None:
            found, cpu = peak_mb(self.process.pid), cpu_seconds(self.process.pid)
            if found is not None:
                self.peak = max(self.peak or 0.0, found)
            if cpu is not None:
                self.cpu = cpu
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to this process only (its own group, which holds nothing else)."""
        found = peak_mb(self.process.pid)
        if found is not None:
            self.peak = max(self.peak or 0.0, found)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is None:
            found = peak_mb(self.process.pid)
            if found is not None:
                self.peak = max(self.peak or 0.0, found)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        self._thread.join(timeout=2)


def app_spec(lease: int | None) -> str:
    return f"auditapp:create_app({{'TASK_LEASE_SECONDS': {lease}}})" if lease else "auditapp:create_app()"


def start_worker(env: dict, spec: str, log: Path) -> Watched:
    worker = Watched([sys.executable, "-m", "flask", "--app", spec, "worker", "--workers", "2"], env, log)
    deadline = time.monotonic() + 60
    while "worker: queue" not in log.read_text(errors="replace"):
        if worker.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    return worker


# --- the browser -----------------------------------------------------------------------------------------------


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, timeout: float = 60) -> tuple[str, bytes, dict]:
        with self.opener.open(urllib.parse.urljoin(self.base, path), timeout=timeout) as reply:
            return reply.geturl(), reply.read(), dict(reply.headers)

    def post(self, path: str, fields: dict) -> tuple[str, bytes]:
        body = urllib.parse.urlencode(fields).encode()
        with self.opener.open(urllib.parse.urljoin(self.base, path), data=body, timeout=60) as reply:
            return reply.geturl(), reply.read()


def attribute(page: bytes, pattern: str, what: str) -> str:
    found = re.search(pattern, page.decode("utf-8", "replace"))
    if not found:
        raise SystemExit(f"no {what} on the page")
    return html.unescape(found.group(1))


def log_in(browser: Browser) -> None:
    _, page, _ = browser.get("/login")
    token = attribute(page, r'name="csrf_token"[^>]*value="([^"]+)"', "CSRF token")
    url, page = browser.post("/login", {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": ""})
    if urllib.parse.urlparse(url).path.startswith("/login"):
        raise SystemExit("login failed: " + page.decode("utf-8", "replace")[:500])


# --- counting --------------------------------------------------------------------------------------------------


RESPONSES_SHEET = re.compile(r"^Responses(?: \(\d+\))?$")


def responses_rows(path: Path, full: bool) -> tuple[int, str]:
    """Answer rows of the Responses sheet(s) ("Responses (2)"... when it spills), header rows left out.

    openpyxl read-only opens the file; `full` iterates every row (minutes at a million rows), else the sheet's
    <row> elements of the sheet's XML are counted (and checked against openpyxl's max_row when a dimension is set)."""
    import zipfile

    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    total, how = 0, "openpyxl read-only, every row iterated" if full else "sheet XML <row> elements, openpyxl read-only max_row where set"
    with zipfile.ZipFile(path) as archive:
        for name in wb.sheetnames:
            if not RESPONSES_SHEET.match(name):
                continue
            ws = wb[name]
            if full:
                total += sum(1 for row in ws.iter_rows(min_col=1, max_col=1, values_only=True)
                             if row and row[0] not in (None, "")) - 1
                continue
            member = "xl/" + wb._sheets[wb.sheetnames.index(name)]._worksheet_path  # noqa: SLF001
            member = member.replace("xl//xl/", "xl/").replace("xl/xl/", "xl/")
            elements, tail = 0, b""
            with archive.open(member) as xml:
                while block := xml.read(1 << 20):
                    elements += (tail + block).count(b"<row ")
                    tail = block[-4:]
            if ws.max_row is not None and ws.max_row != elements:  # write-only files may have no dimension
                raise SystemExit(f"sheet {name}: openpyxl says {ws.max_row} rows, its XML has {elements}")
            total += elements - 1
    wb.close()
    return total, how


# --- the run ---------------------------------------------------------------------------------------------------


def run(args, tmp: Path) -> bool:
    started = time.perf_counter()
    db_path = tmp / "bench.db"
    _org_id, args.journey_id, answers = build_data(db_path, args.evaluations, args.seed)
    build_seconds = time.perf_counter() - started
    print(f"data: {args.evaluations:,} evaluations, {answers:,} answers in the scorecard, built in {build_seconds:.1f} s",
          flush=True)
    drop = None
    url = f"sqlite:///{db_path}"
    if args.db == "postgres":
        started = time.perf_counter()
        url, drop = postgres_database(args.database_url)
        copy_to_postgres(db_path, url)
        print(f"copied into PostgreSQL ({sa.make_url(url).database}) in {time.perf_counter() - started:.1f} s", flush=True)
    queue_name = f"auditapp-jobbench-{secrets.token_hex(4)}"
    queue_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL) if args.queue == "redis" \
        else f"sqlite:///{tmp / 'queue.db'}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32), "AUDITAPP_ENV": "development",
           "UPLOAD_DIR": str(tmp / "uploads"), "EXPORT_DIR": str(tmp / "exports"), "TASK_QUEUE_URL": queue_url,
           "TASK_QUEUE_NAME": queue_name, "RATELIMIT_STORAGE_URI": "memory://", "FLASK_APP": "auditapp",
           "PYTHONUNBUFFERED": "1"}
    spec = app_spec(args.lease_seconds)
    server: Server | None = None
    workers: list[Watched] = []
    try:
        server = start_gunicorn(spec, env=env, workers=2, ready_path="/login", timeout=60,
                                extra_args=("--timeout", "120"))
        workers.append(start_worker(env, spec, tmp / "worker-1.log"))
        print(f"gunicorn on {server.url}, worker pid {workers[0].process.pid}, queue {queue_name!r} on "
              f"{'Redis' if args.queue == 'redis' else 'SQLite'}, lease {args.lease_seconds or 120} s", flush=True)
        ok = drive(args, server, env, spec, tmp, workers, answers)
    finally:
        for worker in workers:
            worker.stop()
        if server is not None:
            server.stop()
        if args.queue == "redis":
            _forget_redis_queue(queue_url, queue_name)
        if drop is not None:
            drop()
    return ok


def drive(args, server: Server, env: dict, spec: str, tmp: Path, workers: list[Watched], answers: int) -> bool:
    browser = Browser(server.url)
    log_in(browser)
    # The journey's dashboard for all time and everyone's opinion (shoppers and staff), as a manager sets it.
    _, dashboard, _ = browser.get(f"/results/journeys/{args.journey_id}?period=all&source=all")
    link = attribute(dashboard, r'<a class="button primary" href="([^"]*scorecard\.xlsx[^"]*)"', "scorecard link")
    print(f"dashboard link: {link}", flush=True)

    clicked = time.perf_counter()
    job_url, job_page, _ = browser.get(link, timeout=120)
    if "/jobs/" not in job_url:
        raise SystemExit(f"the download did not become a job (answered at {job_url}): is EXPORT_INLINE_MAX_ROWS "
                         f"above {answers:,}?")
    status_url = attribute(job_page, r'data-status-url="([^"]+)"', "status URL")
    print(f"job page {urllib.parse.urlparse(job_url).path} after {time.perf_counter() - clicked:.2f} s; "
          f"polling {status_url}", flush=True)

    first_progress = killed_at = taken_over_at = resumed_at = None
    last_print, last_rows, status, restarts = 0.0, 0, {}, 0
    deadline = clicked + args.timeout
    while time.perf_counter() < deadline:
        _, body, _ = browser.get(status_url)
        status = json.loads(body)
        now = time.perf_counter() - clicked
        rows = status["rows_done"] or 0
        if rows and first_progress is None:
            first_progress = now
        if rows < last_rows:  # a new attempt claimed the job: it writes from the first row again
            restarts += 1
            taken_over_at, resumed_at = now, None
        if taken_over_at is not None and resumed_at is None and rows > 0:
            resumed_at = now
        last_rows = rows
        if now - last_print >= args.sample_seconds or status["status"] in ("done", "failed"):
            last_print = now
            print(f"  {now:7.1f} s  {status['status']:8} {status['progress'] * 100:5.1f} %  "
                  f"{rows:>9,} / {status['rows_total']:,} rows   worker peak "
                  f"{workers[-1].peak or 0:.0f} MB", flush=True)
        if status["status"] in ("done", "failed"):
            break
        if args.kill_worker_at and killed_at is None and status["progress"] >= args.kill_worker_at:
            workers[-1].kill()
            killed_at = now
            print(f"  {now:7.1f} s  KILL -9 worker pid {workers[-1].process.pid} at {status['progress'] * 100:.1f} % "
                  f"(peak {workers[-1].peak or 0:.0f} MB); starting another", flush=True)
            workers.append(start_worker(env, spec, tmp / f"worker-{len(workers) + 1}.log"))
        time.sleep(1.0)  # exportjob.js polls every two seconds; a little finer here for the figures
    job_seconds = time.perf_counter() - clicked
    if status.get("status") != "done":
        print(f"FAILED: the job is {status.get('status')!r} after {job_seconds:.0f} s: {status.get('error')}")
        for worker in workers:
            print(f"--- {worker.log.name} ---\n" + worker.log.read_text(errors="replace")[-3000:])
        return False

    started = time.perf_counter()
    download = tmp / "job.xlsx"
    _, content, headers = browser.get(status["download_url"], timeout=300)
    download.write_bytes(content)
    download_seconds = time.perf_counter() - started
    started = time.perf_counter()
    written, how = responses_rows(download, args.full_count)
    count_seconds = time.perf_counter() - started

    grain = urllib.parse.parse_qs(urllib.parse.urlparse(link).query).get("grain", [""])[0]
    cli_file = tmp / "cli.xlsx"
    started = time.perf_counter()
    cli = Watched([sys.executable, "-m", "flask", "--app", spec, "export-scorecard", "--org", "bench", "--journey",
                   str(args.journey_id), "--source", "all", *(["--grain", grain] if grain else []), str(cli_file)],
                  env, tmp / "cli.log")
    cli.process.wait()
    cli_seconds = time.perf_counter() - started
    cli._thread.join(timeout=2)  # noqa: SLF001
    if cli.process.returncode != 0:
        print("the CLI failed:\n" + (tmp / "cli.log").read_text(errors="replace")[-3000:])
        return False

    ok = written == answers
    print()
    print(f"answers in the database:        {answers:>12,}")
    print(f"Responses rows in the download: {written:>12,}  {'equal' if ok else 'MISMATCH'}  "
          f"({how}, {count_seconds:.0f} s)")
    print(f"job wall time (click to done):  {job_seconds:9.1f} s   {answers / job_seconds:,.0f} rows/s")
    print(f"time to first progress:         {first_progress or float('nan'):9.1f} s")
    if killed_at is not None:
        print(f"worker killed at:               {killed_at:9.1f} s; taken over at "
              f"{taken_over_at or float('nan'):.1f} s, writing again at {resumed_at or float('nan'):.1f} s "
              f"(lease {args.lease_seconds or 120} s, then the next minutely sweep); attempts after the first: {restarts}")
        if taken_over_at is not None:
            last_attempt = job_seconds - taken_over_at
            print(f"last attempt (take-over to done): {last_attempt:7.1f} s   {answers / last_attempt:,.0f} rows/s; "
                  f"ratio to the CLI {last_attempt / cli_seconds:.2f}x")
    print(f"file: {int(headers.get('Content-Length', len(content))):,} bytes ({len(content) / 1e6:.1f} MB), "
          f"downloaded in {download_seconds:.2f} s; CLI file {cli_file.stat().st_size / 1e6:.1f} MB")
    for i, worker in enumerate(workers, 1):
        print(f"worker {i} peak RSS (VmHWM):       {worker.peak or float('nan'):7.0f} MB, CPU {worker.cpu or 0:.1f} s"
              f"{'  (killed)' if killed_at is not None and i == 1 else ''}")
    print(f"CLI baseline `flask export-scorecard`: {cli_seconds:.1f} s wall, CPU {cli.cpu or 0:.1f} s, "
          f"peak {cli.peak or float('nan'):.0f} MB")
    last = workers[-1]  # the worker that finished the job (CPU includes its idle polling and start-up)
    if last.cpu and cli.cpu:
        print(f"ratio CPU, finishing worker / CLI: {last.cpu / cli.cpu:.2f}x (wall time counts the machine's other load)")
    print(f"ratio job / CLI (whole job, click to done): {job_seconds / cli_seconds:.2f}x")
    return ok


def _forget_redis_queue(url: str, name: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)
    except Exception as error:  # noqa: BLE001 (cleaning up after a bench)
        print(f"could not remove the Redis queue {name}: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="with --db postgres: the server to create the bench database on")
    parser.add_argument("--queue", choices=("sqlite", "redis"), default="sqlite",
                        help=f"redis: $BENCH_REDIS_URL (default {DEFAULT_REDIS_URL}) under a queue name of its own")
    parser.add_argument("--kill-worker-at", type=float, default=0.0, metavar="FRACTION",
                        help="kill -9 the worker when the progress passes this (0.3 = 30 %%) and start another")
    parser.add_argument("--lease-seconds", type=int, default=30,
                        help="TASK_LEASE_SECONDS for the web app and the worker (0: the app's default, 120)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up on the job after this many seconds")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="print a progress sample this often")
    parser.add_argument("--full-count", action="store_true",
                        help="count the rows by iterating them with openpyxl (slow) instead of dimension + XML")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (path printed)")
    args = parser.parse_args(argv)
    if not 0 <= args.kill_worker_at < 1:
        parser.error("--kill-worker-at must be a fraction between 0 and 1")
    tmp = Path(tempfile.mkdtemp(prefix="auditapp-jobbench-"))
    try:
        ok = run(args, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
