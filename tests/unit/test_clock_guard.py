"""Guard: tests read the time only through the frozen clock's helpers (tests/clock.py says how).

Every test already runs on a frozen clock (tests/conftest.py), so what this guard catches is the calls that read
the clock in the wrong zone or behind the freeze's back: `date.today()` and naive `datetime.now()` give the
machine's local date, not the organisation's, and `time_machine.escape_hatch` reads the real clock. Use
`utcnow()` or `local_today(org.timezone)` from auditapp.timeutil, and `frozen_at` / `@on_frozen_dates` for the
instant itself. Durations (`time.monotonic`, `time.perf_counter`, `time.process_time`) are fine.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ALLOWED = {TESTS / "clock.py", Path(__file__).resolve()}

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


def test_the_scan_finds_each_kind_of_clock_read():
    source = ("import datetime as dt, time\nfrom datetime import date, datetime\n"
              "a = date.today()\nb = datetime.now(UTC)\nc = dt.datetime.utcnow()\nd = time.time()\n"
              "e = time.monotonic()\nf = 'date.today()'\n")
    assert clock_reads(source) == [(3, "date.today"), (4, "datetime.now"), (5, "datetime.utcnow"), (6, "time.time")]


def test_no_test_reads_the_wall_clock_directly():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}: {call}()"
        for path in sorted(TESTS.rglob("*.py")) if path not in ALLOWED
        for line, call in clock_reads(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        "Tests must not read the wall clock directly (see tests/clock.py): use utcnow() or local_today(org.timezone) "
        "from auditapp.timeutil, or frozen_at.\n" + "\n".join(offenders))
