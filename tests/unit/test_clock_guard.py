"""Guard: tests read the time only through the frozen clock's helpers (tests/clock.py says how).

Every test already runs on a frozen clock (tests/conftest.py), so what this guard catches is the calls that read
the clock in the wrong zone or behind the freeze's back: `date.today()` and naive `datetime.now()` give the
machine's local date, not the organisation's, and `time_machine.escape_hatch` reads the real clock. Use
`utcnow()` or `local_today(org.timezone)` from auditapp.timeutil, and `frozen_at` / `@on_frozen_dates` for the
instant itself. Durations (`time.monotonic`, `time.perf_counter`, `time.process_time`) are fine.

The application keeps one place that reads the clock, auditapp/timeutil.py (`utcnow`, `local_today`), so that a
frozen clock governs all of it; the second half of this module checks that. SQL-side clocks (`func.now()`,
CURRENT_TIMESTAMP, a server_default of now) are refused there too: the database's clock is not the frozen one.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
ALLOWED = {TESTS / "clock.py", Path(__file__).resolve()}
APP_CLOCK = ROOT / "auditapp" / "timeutil.py"
SQL_CLOCKS = ("now", "current_timestamp", "current_date", "current_time", "localtimestamp", "localtime", "sysdate")

# (object, attribute) pairs that read the wall clock.
CLOCK_READS = {
    ("date", "today"), ("datetime", "today"), ("datetime", "now"), ("datetime", "utcnow"),
    ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"),
    ("time_machine", "escape_hatch"),
}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # datetime.datetime.now, dt.date.today
        return node.attr
    return None


def clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, text) of every direct wall-clock read in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and (_name(node.value), node.attr) in CLOCK_READS:
            found.append((node.lineno, f"{_name(node.value)}.{node.attr}"))
    return found


def sql_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, text) of database clock reads: func.now() and friends, and SQL text naming them."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _name(node.value) == "func" and node.attr.lower() in SQL_CLOCKS:
            found.append((node.lineno, f"func.{node.attr}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if "current_timestamp" in text or "now()" in text or "datetime('now" in text:
                found.append((node.lineno, repr(node.value[:40])))
    return found


def test_the_scan_finds_each_kind_of_clock_read():
    source = ("import datetime as dt, time\nfrom datetime import date, datetime\n"
              "a = date.today()\nb = datetime.now(UTC)\nc = dt.datetime.utcnow()\nd = time.time()\n"
              "e = time.monotonic()\nf = 'date.today()'\n")
    assert clock_reads(source) == [(3, "date.today"), (4, "datetime.now"), (5, "datetime.utcnow"), (6, "time.time")]
    sql = "a = sa.func.now()\nb = sa.text('SELECT CURRENT_TIMESTAMP')\nc = Column(server_default=text('now()'))\n"
    assert [line for line, _ in sql_clock_reads(sql)] == [1, 2, 3]


def test_no_test_reads_the_wall_clock_directly():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}: {call}()"
        for path in sorted(TESTS.rglob("*.py")) if path not in ALLOWED
        for line, call in clock_reads(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        "Tests must not read the wall clock directly (see tests/clock.py): use utcnow() or local_today(org.timezone) "
        "from auditapp.timeutil, or frozen_at.\n" + "\n".join(offenders))


def test_the_application_reads_the_clock_only_through_timeutil():
    sources = [*sorted((ROOT / "auditapp").rglob("*.py")), *sorted((ROOT / "migrations").rglob("*.py"))]
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in sources
        for line, call in [*(clock_reads(path.read_text(encoding="utf-8")) if path != APP_CLOCK else []),
                           *sql_clock_reads(path.read_text(encoding="utf-8"))]
    ]
    assert offenders == [], (
        "Read the time with auditapp.timeutil.utcnow() / local_today(tz), so one place governs it and a frozen "
        "test clock reaches it (a database-side now() is not frozen):\n" + "\n".join(offenders))
