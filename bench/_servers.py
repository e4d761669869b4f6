"""Start and stop gunicorn on a loopback port, for bench/load.py and tests/app/test_scale_out.py.

gunicorn binds 127.0.0.1:0 itself and logs the port it got, so two servers never race for a port. Each server
runs in its own process group; `stop()` ends that group (TERM, then KILL after a grace period) and nothing else.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


class ServerError(RuntimeError):
    """gunicorn did not come up; the message carries the end of its log."""


@dataclass
class Server:
    process: subprocess.Popen
    log_path: Path
    port: int = 0
    keep_log: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        """TERM the master (gunicorn ends its workers gracefully), then KILL the group if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if not self.keep_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def python_bin() -> str:
    """The interpreter of the venv running us, so gunicorn gets the same packages."""
    return sys.executable


def start_gunicorn(app: str = "wsgi:app", *, env: dict | None = None, workers: int = 4, threads: int = 1,
                   timeout: float = 30.0, ready_path: str = "/", log_dir: str | None = None,
                   extra_args: tuple[str, ...] = ()) -> Server:
    """Start gunicorn serving `app` on 127.0.0.1:<free port>; return when it answers `ready_path`.

    `env` is added to a copy of os.environ. Raises ServerError (after stopping it) when it does not come up.
    """
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    log_fd, log_name = tempfile.mkstemp(prefix="gunicorn-", suffix=".log", dir=log_dir)
    cmd = [python_bin(), "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", str(workers),
           "--graceful-timeout", "5", "--timeout", "60", "--log-level", "info", "--error-logfile", "-"]
    if threads > 1:
        cmd += ["--worker-class", "gthread", "--threads", str(threads)]
    if _has_control_socket():
        cmd.append("--no-control-socket")  # gunicorn 25+: one fixed socket path that parallel servers would share
    cmd += [*extra_args, app]
    try:
        process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log_fd, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(log_fd)  # the child has its own copy
    server = Server(process=process, log_path=Path(log_name))
    deadline = time.monotonic() + timeout
    try:
        while not server.port:
            if process.poll() is not None:
                raise ServerError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerError(f"gunicorn did not bind within {timeout:.0f} s:\n{server.log_tail()}")
            found = LISTENING.search(server.log_path.read_text(errors="replace"))
            if found:
                server.port = int(found.group(1))
            else:
                time.sleep(0.05)
        _wait_until_answering(server, ready_path, deadline)
    except BaseException:
        server.keep_log = True  # the error message names what went wrong; the file stays for a closer look
        server.stop(grace=2)
        raise
    return server


def _has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)


def _wait_until_answering(server: Server, path: str, deadline: float) -> None:
    """Workers import the app after the master binds: wait until one answers (any HTTP status will do)."""
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException) as error:
            last_error = error
            time.sleep(0.1)
        finally:
            conn.close()
    raise ServerError(f"gunicorn did not answer {path}: {last_error}\n{server.log_tail()}")
