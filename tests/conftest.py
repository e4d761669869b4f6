"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL points at one.

With PostgreSQL, each run creates a database of its own (auditapp_test_<random>) and drops it at the end, so runs
never collide. Tables are made once per run with create_all and emptied after each test.

Every test runs on a frozen clock (the autouse `frozen_clock` fixture below); tests/clock.py explains it, lists the
frozen dates, and how to run a test on all of them (`@on_frozen_dates`) or opt out (`@pytest.mark.real_clock`).
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from auditapp import create_app, queue
from auditapp.extensions import db

from . import clock
from .factories import Factory

# Property tests on a shared 2-core machine: a slow example is load, not a bug. No deadline, no too_slow health
# check, and a fixed number of examples, so a run's length does not depend on the machine's neighbours.
settings.register_profile("auditapp", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "auditapp"))


def _postgres_test_database(base_url: str):
    """Create a fresh database next to the one DATABASE_URL names; return its URL and a dropper."""
    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(base_url))
    name = f"auditapp_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        raise pytest.UsageError(f"PostgreSQL at {url.render_as_string(hide_password=True)} cannot be reached: {error}") from None

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture
def frozen_at():
    """The instant the clock is frozen at for this test (tests/clock.py); @on_frozen_dates parametrizes it."""
    return clock.DEFAULT_INSTANT


@pytest.fixture
def tz():
    """The organisation's time zone, for fixtures that take one; @in_org_zones parametrizes it (tests/clock.py)."""
    return "UTC"


@pytest.fixture(autouse=True)
def frozen_clock(request, frozen_at):
    """Every test runs on a frozen clock (autouse, so before the fixtures that make data); see tests/clock.py."""
    if clock.uses_real_clock(request.node):
        callspec = getattr(request.node, "callspec", None)
        if callspec is not None and "frozen_at" in callspec.params:
            pytest.fail("a test on the real clock cannot also run on frozen dates", pytrace=False)
        yield None
        return
    with time_machine.travel(frozen_at, tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres", "postgresql")):
        url, drop = _postgres_test_database(base)
        yield url
        drop()
    else:
        # A file, not :memory:, so the browser tests' server thread and the test share it.
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "t"})
    with app.app_context():
        db.create_all()
        yield
        db.drop_all()
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app_config(database_url, tmp_path):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        # The dashboard cache is tested on its own (tests/app/test_dashboard_cache.py); elsewhere every page computes.
        "CACHE_TYPE": "NullCache",
        "CACHE_NO_NULL_WARNING": True,
        # Production hashes with scrypt (most of a second on this machine, on purpose); the suite logs in thousands of
        # times, so it hashes cheaply. tests/app/test_auth.py checks the production default.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


# One app per configuration for the whole run: create_app compiles ~100 URL rules (about 0.1 s), thousands of times
# over. Each test gets the app with the configuration it was made with (plus its own UPLOAD_DIR), and whatever a test
# changes in app.config is put back after it. A test that adds routes or blueprints asks for its own app with
# @pytest.mark.fresh_app (Flask refuses setup calls on an app that has served a request, so a forgotten mark fails).
_SHARED_APPS: dict[str, tuple] = {}
_PER_TEST_KEYS = ("UPLOAD_DIR",)


def _app_for(config: dict, fresh: bool):
    if fresh:
        return create_app(config), None
    key = repr(sorted((k, repr(v)) for k, v in config.items() if k not in _PER_TEST_KEYS))
    if key not in _SHARED_APPS:
        shared = create_app(config)
        _SHARED_APPS[key] = (shared, dict(shared.config))
    shared, pristine = _SHARED_APPS[key]
    shared.config.clear()
    shared.config.update(pristine)
    shared.config.update({k: config[k] for k in _PER_TEST_KEYS if k in config})
    # The task queue is one Huey object per process, pointed at the last app made: point it back at this one, on a
    # fresh in-memory queue (a test may have moved it to SQLite or Redis with tests/queueing.use_queue).
    queue.init_app(shared)
    return shared, pristine


@pytest.fixture
def app(request, _schema, app_config):
    app, pristine = _app_for(app_config, fresh=request.node.get_closest_marker("fresh_app") is not None)
    try:
        with app.app_context():
            yield app
            db.session.remove()
            _empty_all_tables()
            db.engine.dispose()
    finally:
        if pristine is not None:
            app.config.clear()
            app.config.update(pristine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factory:
    """Builders for test data: make.org(), make.user(org, role), make.location(org), make.journey(org)..."""
    return Factory()


def _closed_before_sending(app):
    """Werkzeug's development server skips the response's close() when the browser drops the connection first (its
    cleanup reads the closed socket and raises), so a static file it was sending stays open until the garbage
    collector finds it, and that warning fails whichever test is running. Reading the body and closing it before
    sending anything keeps every file closed; streaming is not what the browser tests check."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port in a thread, for tests that drive a real browser."""
    server = make_server("127.0.0.1", 0, _closed_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "correct horse battery", follow: bool = False):
        return self.client.post("/login", data={"email": email, "password": password}, follow_redirects=follow)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on a free loopback port (tests/mailserver.py); the app is configured to send to it."""
    from .mailserver import SmtpServer

    server = SmtpServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_FROM="audits@example.com", MAIL_TIMEOUT=5)
    try:
        yield server
    finally:
        server.stop()
