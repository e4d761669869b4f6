"""Login attempts are rate limited, in memory by default and in Redis when RATELIMIT_STORAGE_URI says so."""
import os
import secrets

import pytest

from auditapp import create_app
from auditapp.extensions import db

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, _schema, app_config):
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set (.ci/run sets it to the local Redis)")
        storage = REDIS_URL
    else:
        storage = "memory://"
    config = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage,
              "RATELIMIT_LOGIN": "3 per minute", "RATELIMIT_KEY_PREFIX": f"t{secrets.token_hex(4)}"}
    app = create_app(config)
    yield app
    _dispose(app)


def _dispose(app) -> None:
    """Close this extra app's pooled connections now, not whenever the garbage collector gets to them."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_login_is_rate_limited_with_a_clear_message(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        assert client.post("/login", data={"email": "x@example.com", "password": "wrong"}).status_code == 200
    response = client.post("/login", data={"email": "x@example.com", "password": "wrong"})
    assert response.status_code == 429
    assert b"Too many login attempts" in response.data
    assert client.get("/login").status_code == 200  # only attempts count, not looking at the page


def test_successful_logins_do_not_use_up_the_limit(make, limited_app):
    """Staff behind one shop address log in one after another at shift start: only failures count.

    `make` comes first: the limiter is one object, and the app made last (limited_app) configures it.
    """
    from tests.factories import PASSWORD

    org = make.org()
    emails = [make.user(org, "staff").email for _ in range(5)]
    # One shop address, fresh for this run (the limiter keeps its first key prefix across test apps).
    shop = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    for email in emails:
        client = limited_app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}, environ_base=shop).status_code == 302
    client = limited_app.test_client()
    for _ in range(3):
        assert client.post("/login", data={"email": emails[0], "password": "wrong"}, environ_base=shop).status_code == 200
    assert client.post("/login", data={"email": emails[0], "password": "wrong"}, environ_base=shop).status_code == 429


def test_the_login_limit_lifts_when_its_minute_has_passed(_schema, app_config, frozen_clock):
    """In memory (Redis expires its counters on its own clock, which a frozen test clock does not move)."""
    config = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
              "RATELIMIT_LOGIN": "3 per minute", "RATELIMIT_KEY_PREFIX": f"t{secrets.token_hex(4)}"}
    app = create_app(config)
    shop = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    client = app.test_client()

    def attempt() -> int:
        return client.post("/login", data={"email": "x@example.com", "password": "wrong"}, environ_base=shop).status_code

    try:
        assert [attempt() for _ in range(4)] == [200, 200, 200, 429]
        frozen_clock.shift(59)
        assert attempt() == 429
        frozen_clock.shift(2)
        assert attempt() == 200
    finally:
        _dispose(app)


def test_a_second_app_instance_shares_the_redis_counter(_schema, app_config):
    """Two workers (or hosts) see the same counter, so the limit holds across a scaled-out deployment."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (.ci/run sets it to the local Redis)")
    config = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_URL,
              "RATELIMIT_LOGIN": "2 per minute", "RATELIMIT_KEY_PREFIX": f"t{secrets.token_hex(4)}"}
    first_app, second_app = create_app(config), create_app(config)
    first = first_app.test_client()
    first.post("/login", data={"email": "x@example.com", "password": "wrong"})
    first.post("/login", data={"email": "x@example.com", "password": "wrong"})
    second = second_app.test_client()
    try:
        assert second.post("/login", data={"email": "x@example.com", "password": "wrong"}).status_code == 429
    finally:
        _dispose(first_app)
        _dispose(second_app)
