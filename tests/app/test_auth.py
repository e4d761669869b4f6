"""Log in and out, sessions, invites, roles and the organisation boundary."""
from __future__ import annotations

from datetime import timedelta

import pytest

from auditapp import create_app
from auditapp.auth.models import ApiToken, AuditLog, Invite, Membership, User
from auditapp.extensions import db
from auditapp.timeutil import utcnow
from tests.clock import on_frozen_dates
from tests.factories import PASSWORD


def test_login_and_logout(client, auth, make):
    org = make.org()
    user = make.user(org, "manager", email="m@example.com")
    response = auth.login("M@Example.com ")
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert AuditLog.query.filter_by(action="user.login", user_id=user.id).count() == 1
    auth.logout()
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.location


def test_wrong_password_shows_error_and_keeps_email(client, auth, make):
    make.user(make.org(), "admin", email="a@example.com")
    response = auth.login("a@example.com", "not the password")
    assert response.status_code == 200
    assert b"Wrong email or password" in response.data
    assert b'value="a@example.com"' in response.data
    assert client.get("/account").status_code == 302


def test_unknown_email_gives_the_same_error(auth):
    response = auth.login("nobody@example.com", "whatever")
    assert b"Wrong email or password" in response.data


def test_inactive_user_cannot_log_in(auth, make):
    user = make.user(make.org(), "shopper", email="s@example.com")
    user.active = False
    db.session.commit()
    response = auth.login("s@example.com")
    assert response.status_code == 200
    assert b"not active" in response.data


def test_deactivation_ends_an_open_session(client, auth, make):
    org = make.org()
    make.user(org, "admin", email="boss@example.com")
    shopper = make.user(org, "shopper", email="s@example.com")
    auth.login("s@example.com")
    assert client.get("/account").status_code == 200
    shopper.active = False
    shopper.session_version += 1
    db.session.commit()
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/tokens", "/tokens"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirect_only_to_this_site(client, make, target, expected):
    make.user(make.org(), "admin", email="a@example.com")
    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.location == expected


def test_remember_me_sets_a_remember_cookie(client, make):
    make.user(make.org(), "admin", email="a@example.com")
    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD, "remember": "y"})
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in c for c in response.headers.getlist("Set-Cookie"))


def test_password_change_invalidates_other_sessions(app, make):
    user = make.user(make.org(), "manager", email="m@example.com")
    phone, laptop = app.test_client(), app.test_client()
    for c in (phone, laptop):
        c.post("/login", data={"email": "m@example.com", "password": PASSWORD})
    response = laptop.post("/account", data={"current": PASSWORD, "new": "a brand new secret", "confirm": "a brand new secret"})
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200  # the session that changed it stays in
    assert phone.get("/account").status_code == 302  # the other one is out
    db.session.refresh(user)
    assert user.check_password("a brand new secret")


def test_password_change_errors_are_specific(client, auth, make):
    make.user(make.org(), "manager", email="m@example.com")
    auth.login("m@example.com")
    response = client.post("/account", data={"current": "wrong", "new": "short", "confirm": "other"})
    assert b"This is not your current password" in response.data or b"at least 10" in response.data
    assert b"at least 10 characters" in response.data


def test_passwords_are_hashed_with_a_current_algorithm(make):
    user = make.user(make.org(), "admin")
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_production_hashes_passwords_with_scrypt(app):
    """The suite hashes cheaply (tests/conftest.py); an app configured as production is not told to."""
    from auditapp.auth.models import hash_password
    from auditapp.config import Config

    assert Config.PASSWORD_HASH_METHOD == "scrypt"
    production = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "s"})
    with production.app_context():
        stored = hash_password(PASSWORD)
        user = User(email="p@example.com", name="P")
        user.set_password(PASSWORD)
    assert stored.startswith("scrypt:32768:8:1$") and user.password_hash.startswith("scrypt:")
    assert app.config["PASSWORD_HASH_METHOD"].startswith("pbkdf2:")


def _invite(client, auth, make, role="shopper"):
    org = make.org()
    make.user(org, "admin", email="admin@example.com")
    auth.login("admin@example.com")
    response = client.post("/admin/users", data={"email": "new@example.com", "role": role, "location_id": ""})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    start = body.index("/invite/")
    token = body[start + len("/invite/"):body.index('"', start)]
    auth.logout()
    return org, token


def test_invite_link_creates_an_account_once(client, auth, make):
    org, token = _invite(client, auth, make)
    assert client.get(f"/invite/{token}").status_code == 200
    data = {"name": "New Shopper", "password": "long enough pw", "confirm": "long enough pw"}
    response = client.post(f"/invite/{token}", data=data)
    assert response.status_code == 302
    user = User.query.filter_by(email="new@example.com").one()
    assert Membership.query.filter_by(user_id=user.id, org_id=org.id).one().role == "shopper"
    client.post("/logout")
    second = client.post(f"/invite/{token}", data=data)
    assert second.status_code == 410
    assert User.query.filter_by(email="new@example.com").count() == 1


def test_invite_link_expires(client, auth, make):
    _, token = _invite(client, auth, make)
    invite = Invite.query.one()
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.post(f"/invite/{token}", data={"name": "x", "password": "long enough pw", "confirm": "long enough pw"})
    assert response.status_code == 410
    assert User.query.filter_by(email="new@example.com").count() == 0


@on_frozen_dates
def test_invite_link_works_for_invite_days_then_expires(client, auth, make, frozen_clock):
    org, token = _invite(client, auth, make)
    days = client.application.config["INVITE_DAYS"]
    frozen_clock.shift(timedelta(days=days) - timedelta(seconds=1))
    assert client.get(f"/invite/{token}").status_code == 200
    frozen_clock.shift(timedelta(seconds=1))  # the expiry instant itself: no longer valid
    assert client.get(f"/invite/{token}").status_code == 410
    auth.login("admin@example.com")
    assert "new@example.com" not in client.get("/admin/users").get_data(as_text=True)  # not listed as pending


def test_a_revoked_invite_stops_working_at_once(client, auth, make):
    _, token = _invite(client, auth, make)
    invite = Invite.query.one()
    auth.login("admin@example.com")
    assert client.post(f"/admin/invites/{invite.id}/revoke").status_code == 302
    auth.logout()
    # The clock is frozen: the link is opened at the very instant it was revoked.
    assert client.get(f"/invite/{token}").status_code == 410
    response = client.post(f"/invite/{token}", data={"name": "x", "password": "long enough pw", "confirm": "long enough pw"})
    assert response.status_code == 410
    assert User.query.filter_by(email="new@example.com").count() == 0


def test_api_token_use_is_written_at_most_once_a_minute(client, make, frozen_clock):
    token = make.token(make.user(make.org(), "manager"))
    headers = {"Authorization": f"Bearer {token}"}

    def last_used():
        assert client.get("/api/v1/evaluations", headers=headers).status_code == 200
        db.session.expire_all()
        return ApiToken.query.one().last_used_at

    first = utcnow()
    assert last_used() == first
    frozen_clock.shift(60)
    assert last_used() == first  # a minute is not more than a minute
    frozen_clock.shift(1)
    assert last_used() == first + timedelta(seconds=61)


def test_invite_stores_only_a_digest(client, auth, make):
    _, token = _invite(client, auth, make)
    assert token not in Invite.query.one().token_hash


def test_invite_with_bad_email_is_refused_with_a_message(client, auth, make):
    make.user(make.org(), "admin", email="admin@example.com")
    auth.login("admin@example.com")
    response = client.post("/admin/users", data={"email": "not-an-email", "role": "shopper"})
    assert b"Enter an email address" in response.data
    assert Invite.query.count() == 0


def test_admin_changes_role_and_deactivates(client, auth, make):
    org = make.org()
    make.user(org, "admin", email="admin@example.com")
    staff = make.user(org, "staff", email="staff@example.com")
    membership = Membership.query.filter_by(user_id=staff.id).one()
    auth.login("admin@example.com")
    assert client.post(f"/admin/users/{membership.id}/role", data={"role": "manager", "location_id": ""}).status_code == 302
    assert db.session.get(Membership, membership.id).role == "manager"
    assert client.post(f"/admin/users/{membership.id}/active").status_code == 302
    assert db.session.get(User, staff.id).active is False


def test_last_admin_cannot_demote_themself(client, auth, make):
    org = make.org()
    admin = make.user(org, "admin", email="admin@example.com")
    membership = Membership.query.filter_by(user_id=admin.id).one()
    auth.login("admin@example.com")
    client.post(f"/admin/users/{membership.id}/role", data={"role": "shopper", "location_id": ""})
    assert db.session.get(Membership, membership.id).role == "admin"


ADMIN_PAGES = [("get", "/admin/users"), ("get", "/admin/audit"), ("post", "/admin/users/1/role"),
               ("post", "/admin/users/1/active"), ("post", "/admin/invites/1/revoke")]


@pytest.mark.parametrize("role", ["manager", "shopper", "staff"])
@pytest.mark.parametrize("method, url", ADMIN_PAGES)
def test_admin_pages_are_forbidden_to_other_roles(client, auth, make, role, method, url):
    make.user(make.org(), role, email="u@example.com")
    auth.login("u@example.com")
    assert getattr(client, method)(url).status_code == 403


def test_admin_pages_need_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.location


def test_other_organisations_objects_are_404(client, auth, make):
    org_a, org_b = make.org(), make.org()
    make.user(org_a, "admin", email="a@example.com")
    other = make.user(org_b, "staff", email="b@example.com")
    foreign_membership = Membership.query.filter_by(user_id=other.id).one()
    _, _ = make.token(other), None
    foreign_token = ApiToken.query.filter_by(user_id=other.id).one()
    auth.login("a@example.com")
    assert client.post(f"/admin/users/{foreign_membership.id}/role", data={"role": "admin"}).status_code == 404
    assert client.post(f"/admin/users/{foreign_membership.id}/active").status_code == 404
    assert client.post(f"/tokens/{foreign_token.id}/revoke").status_code == 404
    assert db.session.get(Membership, foreign_membership.id).role == "staff"
    assert db.session.get(User, other.id).active is True
    assert b"b@example.com" not in client.get("/admin/users").data


def test_api_tokens_are_shown_once_and_stored_hashed(client, auth, make):
    make.user(make.org(), "manager", email="m@example.com")
    auth.login("m@example.com")
    response = client.post("/tokens", data={"name": "BI"})
    body = response.get_data(as_text=True)
    token = body[body.index('value="aud_') + 7:].split('"')[0]
    stored = ApiToken.query.one()
    assert stored.name == "BI" and token not in stored.token_hash
    assert token not in client.get("/tokens").get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_csrf_is_enforced_on_forms(app, make):
    make.user(make.org(), "admin", email="a@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/login", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400


def test_logout_clears_cached_pages_but_not_stored_drafts(client, auth, make):
    make.user(make.org(), "shopper", email="s@example.com")
    auth.login("s@example.com")
    response = auth.logout()
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert "bye=1" in response.location
    assert b"data-clear-offline-cache" in client.get(response.location).data
