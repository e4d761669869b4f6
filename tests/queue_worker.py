"""A real queue consumer in its own process, for the tests: `python -m tests.queue_worker` (tests/queueing.py starts it).

It makes the app from the JSON config in AUDITAPP_TEST_CONFIG and runs `flask worker` (the real command, the real
Huey consumer). AUDITAPP_TEST_ROW_DELAY (seconds) slows each exported row, so a test can kill it mid-way.
"""
from __future__ import annotations

import json
import os
import time

from flask.cli import ScriptInfo

from auditapp import create_app
from auditapp.queue_commands import worker


def main() -> None:
    config = json.loads(os.environ["AUDITAPP_TEST_CONFIG"])
    delay = float(os.environ.get("AUDITAPP_TEST_ROW_DELAY") or 0)
    if delay:
        from auditapp.exports import jobs

        jobs.HEARTBEAT_SECONDS = 0.1
        original = jobs._Progress.__call__

        def slow(self, rows):
            for row in original(self, rows):
                time.sleep(delay)
                yield row

        jobs._Progress.__call__ = slow
    app = create_app(config)
    worker.main(args=["--workers", "2", *os.environ.get("AUDITAPP_TEST_WORKER_ARGS", "").split()],
                obj=ScriptInfo(create_app=lambda: app), standalone_mode=False)


if __name__ == "__main__":
    main()
