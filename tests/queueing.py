"""Running the task queue in tests: in this process (run_pending) or in real worker processes (Worker)."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def redis_url_or_skip() -> str:
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/14)")
    return url


def queue_modes():
    """The two real queues: the embedded default (a SQLite file) and Redis (skipped without TEST_REDIS_URL)."""
    return pytest.mark.parametrize("queue_mode", ["sqlite", "redis"])


def queue_config(mode: str, tmp_path: Path) -> dict:
    """TASK_QUEUE_URL and a queue name of this test's own, so tests never see each other's tasks."""
    name = f"test-{secrets.token_hex(4)}"
    if mode == "redis":
        return {"TASK_QUEUE_URL": redis_url_or_skip(), "TASK_QUEUE_NAME": name}
    return {"TASK_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}", "TASK_QUEUE_NAME": name}


def use_queue(app, config: dict) -> None:
    """Point the running test app's queue somewhere else (auditapp.queue.init_app reads the config)."""
    from auditapp import queue

    app.config.update(config)
    queue.init_app(app)


def clear_queue() -> None:
    from auditapp.queue import huey

    huey.storage.flush_all()


class Worker:
    """`flask worker` in a subprocess (tests/queue_worker.py) with the test app's config."""

    def __init__(self, app, *, row_delay: float = 0.0, args: str = "", log: Path | None = None):
        keys = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "TASK_QUEUE_URL", "TASK_QUEUE_NAME", "EXPORT_DIR",
                "UPLOAD_DIR", "TASK_LEASE_SECONDS", "MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "BASE_URL",
                "WEBHOOK_RETRY_SECONDS", "WEBHOOK_ALLOW_PRIVATE", "SCHEDULE_ATTACH_MAX_BYTES")
        config = {"TESTING": True, **{k: app.config[k] for k in keys if app.config.get(k) is not None}}
        env = {**os.environ, "AUDITAPP_TEST_CONFIG": json.dumps(config), "AUDITAPP_TEST_ROW_DELAY": str(row_delay),
               "AUDITAPP_TEST_WORKER_ARGS": args, "PYTHONPATH": str(ROOT)}
        self.log_path = log
        self.log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.queue_worker"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._close_log()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self.log is not subprocess.DEVNULL and not self.log.closed:
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_for(check, timeout: float = 30.0, interval: float = 0.1, what: str = "the condition"):
    """Poll `check()` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
