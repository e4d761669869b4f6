"""Notification mail through the outbox, against a real SMTP server on loopback (tests/mailserver.py).

Nothing of the sending is mocked: messages go over TCP to aiosmtpd, which parses them.
"""
from __future__ import annotations

import functools
import threading
import uuid
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from auditapp.auth.models import AuditLog, hash_password
from auditapp.auth.services import add_user
from auditapp.evaluations.models import Evaluation
from auditapp.evaluations.services import submit_evaluation
from auditapp.extensions import db
from auditapp.notify.delivery import SECRET_BODY_SENT, deliver_pending
from auditapp.notify.models import NotificationOptOut, OutboxMessage
from auditapp.notify.notices import notify_action_overdue, notify_dispute_decided, notify_dispute_opened
from auditapp.notify.outbox import queue
from auditapp.notify.recipients import location_managers, org_managers
from auditapp.notify.reminders import PROVIDERS
from auditapp.results.models import Action
from auditapp.timeutil import utcnow

from ..factories import PASSWORD

VISIT_START = "2026-03-10T09:30:00Z"  # 10:30 in Amsterdam (CET)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # once per run


def _user(org, role: str, email: str, name: str, location=None):
    return add_user(org, email, name, "", role, location_id=getattr(location, "id", None), password_hash=_password_hash())


@pytest.fixture
def site(make):
    """One organisation (Amsterdam time) with every role, a location and the café journey; and another organisation
    with its own admin and manager, who must never hear about the first one."""
    org = make.org(name="Acme Coffee", slug="acme", timezone="Europe/Amsterdam")
    location = make.location(org, code="001", name="City Centre")
    users = {
        "admin": _user(org, "admin", "admin@acme.example", "Ada Admin"),
        "manager": _user(org, "manager", "manager@acme.example", "Max Manager"),
        "shopper": _user(org, "shopper", "shopper@acme.example", "Sam Shopper"),
        "staff": _user(org, "staff", "staff@acme.example", "Stu Staff", location=location),
    }
    journey = make.journey(org)
    other = make.org(name="Other Org", slug="other")
    _user(other, "admin", "admin@other.example", "Other Admin")
    _user(other, "manager", "manager@other.example", "Other Manager")
    db.session.commit()
    return {"org": org, "location": location, "journey": journey, "users": users, "other": other}


def _payload(site, *, critical_no: bool = True, source: str = "shopper", client_uuid: str | None = None) -> dict:
    answers = {"greeting.greeted": "yes", "greeting.verdict": "neutral", "order.verdict": "neutral",
               "farewell.verdict": "neutral", "order.clean": "no" if critical_no else "yes"}
    return {
        "client_uuid": client_uuid or str(uuid.uuid4()),
        "journey_id": site["journey"].id,
        "location_id": site["location"].id,
        "source": source,
        "started_at": VISIT_START,
        "finished_at": "2026-03-10T09:45:00Z",
        "answers": [{"moment": k.split(".")[0], "question": k.split(".")[1], "value": v} for k, v in answers.items()],
    }


def _post(client, token: str, payload: dict):
    return client.post("/api/v1/evaluations", json=payload, headers={"Authorization": f"Bearer {token}"})


def _outbox(**filters) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def _login(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": "correct horse battery"})
    assert response.status_code == 302


# --- critical fails -------------------------------------------------------------------------------------------------


def test_a_critical_fail_mails_each_manager_once_right_after_the_submission(app, client, make, site, smtp_server):
    token = make.token(site["users"]["shopper"])
    response = _post(client, token, _payload(site))
    assert response.status_code == 201
    evaluation_id = response.get_json()["id"]

    assert smtp_server.to_addresses() == ["admin@acme.example", "manager@acme.example"]
    for received in smtp_server.received:
        assert received.rcpt_tos == [received.to]
        assert received.mail_from == "audits@example.com"
        assert received.subject == "Critical fail at 001 City Centre: Ordering (Café order)"
        body = received.body
        assert "Location: 001 City Centre" in body
        assert "Journey:  Café order" in body
        assert "Visit:    2026-03-10 10:30 (Europe/Amsterdam)" in body  # the organisation's time, not UTC
        assert "Score:    50 (neutral)" in body
        assert '- Ordering: "Counter clean and tidy?", answered no' in body
        assert f"Review the visit: http://localhost/visits/review/{evaluation_id}" in body
        assert "http://localhost/account/notifications" in body
    rows = _outbox(kind="critical_fail")
    assert [(r.to_address, r.status, r.attempts) for r in rows] == [
        ("admin@acme.example", "sent", 1), ("manager@acme.example", "sent", 1)]
    assert {r.dedupe_key for r in rows} == {f"critical_fail:{evaluation_id}:{site['users'][role].id}"
                                            for role in ("admin", "manager")}
    assert all(r.sent_at is not None and r.last_error == "" for r in rows)


def test_the_sites_own_managers_hear_of_a_critical_fail_once_it_is_approved(app, make, site, smtp_server):
    """Location and regional managers see approved visits only, so their mail comes with the approval, once."""
    from auditapp.notify.delivery import deliver_pending as send
    from auditapp.visits.review import approve, reject

    org, location = site["org"], site["location"]
    location.region = "North"
    elsewhere = make.location(org, code="002", name="Harbour", region="South")
    keeper = make.user(org, "location_manager", email="keeper@acme.example", places=[location])
    make.user(org, "regional_manager", email="north@acme.example", regions=["North"])
    make.user(org, "regional_manager", email="south@acme.example", regions=["South"])
    make.user(org, "location_manager", email="harbour@acme.example", places=[elsewhere])
    result = submit_evaluation(org.id, site["users"]["shopper"], "shopper", _payload(site))
    db.session.commit()
    send()
    assert smtp_server.to_addresses() == ["admin@acme.example", "manager@acme.example"]  # not the sites yet
    approve(result.evaluation, site["users"]["manager"])
    db.session.commit()
    send()
    assert sorted(r.to for r in smtp_server.received[2:]) == ["keeper@acme.example", "north@acme.example"]
    assert f"/sites/visits/{result.evaluation.id}" in smtp_server.received[-1].body  # the sites' own page
    # Rejected and approved again: nobody hears of the same visit twice.
    reject(result.evaluation, site["users"]["manager"], "wrong branch")
    approve(result.evaluation, site["users"]["manager"])
    db.session.commit()
    send()
    assert len(smtp_server.received) == 4 and keeper.active


def test_the_mail_is_queued_in_the_submissions_transaction_and_a_rollback_drops_it(app, site, smtp_server):
    shopper = site["users"]["shopper"]
    result = submit_evaluation(site["org"].id, shopper, "shopper", _payload(site))
    # Flushed with the evaluation, not committed: visible in this transaction only.
    assert [m.to_address for m in _outbox()] == ["admin@acme.example", "manager@acme.example"]
    assert result.evaluation.id is not None
    db.session.rollback()

    assert _outbox() == []
    assert deliver_pending().sent == 0
    assert smtp_server.received == []


def test_a_replayed_submission_queues_nothing_again(app, client, make, site, smtp_server):
    token = make.token(site["users"]["shopper"])
    payload = _payload(site)
    assert _post(client, token, payload).status_code == 201
    assert _post(client, token, payload).status_code == 200  # the same client_uuid and content
    assert len(_outbox()) == 2
    assert len(smtp_server.received) == 2


def test_a_resubmission_that_now_fails_a_critical_question_notifies(app, client, make, site, smtp_server):
    """Returned for a fix, sent again with a critical fail: announced then (it was not before)."""
    shopper = site["users"]["shopper"]
    token = make.token(shopper)
    payload = _payload(site, critical_no=False)
    response = _post(client, token, payload)
    assert response.status_code == 201 and smtp_server.received == []
    evaluation = db.session.get(Evaluation, response.get_json()["id"])
    evaluation.status = "returned"
    db.session.commit()

    fixed = _payload(site, critical_no=True, client_uuid=payload["client_uuid"])
    response = _post(client, token, fixed)
    assert response.status_code == 200 and response.get_json()["resubmitted"] is True
    assert smtp_server.to_addresses() == ["admin@acme.example", "manager@acme.example"]


def test_staff_self_assessments_and_passing_visits_notify_nobody(app, make, site, smtp_server):
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["staff"],
                    answers={"order.clean": "no"})
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "yes"})
    assert _outbox() == []
    assert deliver_pending().sent == 0 and smtp_server.received == []


def test_other_organisations_never_hear_about_this_one(app, make, site, smtp_server):
    # A member of the other organisation only, made admin there: not a recipient here, whatever the caller passes.
    foreign = _user(site["other"], "admin", "boss@other.example", "Boss")
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    assert deliver_pending().sent == 2
    assert smtp_server.to_addresses() == ["admin@acme.example", "manager@acme.example"]
    assert all(u.email.endswith("@acme.example") for u in location_managers(site["org"].id, site["location"].id))
    assert queue("critical_fail", foreign, "s", "b", key="x:1", org_id=site["org"].id) is None
    assert notify_dispute_opened(org_id=site["org"].id, dispute_id=7, evaluation_id=1, location_name="001 City Centre",
                                 journey_name="Café order", moment_name="Ordering", question_text="Clean?",
                                 reason="It was clean", opened_by_name="Site", recipients=[foreign]) == []


def test_inactive_users_get_no_mail(app, make, site, smtp_server):
    site["users"]["manager"].active = False
    db.session.commit()
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    deliver_pending()
    assert smtp_server.to_addresses() == ["admin@acme.example"]


# --- settings -------------------------------------------------------------------------------------------------------


def test_turning_critical_fails_off_stops_them_for_that_user_only(app, client, make, site, smtp_server):
    manager = site["users"]["manager"]
    _login(client, manager.email)
    page = client.get("/account/notifications").get_data(as_text=True)
    for name in ("critical_fail", "dispute_opened", "dispute_decided", "action_due", "action_overdue"):
        assert f'checked id="{name}" name="{name}" type="checkbox"' in page  # everything on by default
    keep = {name: "y" for name in ("dispute_opened", "dispute_decided", "action_due", "action_overdue")}
    response = client.post("/account/notifications", data=keep)
    assert response.status_code == 302
    assert [(o.user_id, o.kind) for o in db.session.scalars(select(NotificationOptOut))] == [(manager.id, "critical_fail")]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.notifications_changed"))
    assert entry.user_id == manager.id and entry.org_id == site["org"].id and entry.detail == {"on": [], "off": ["critical_fail"]}
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'checked id="critical_fail"' not in page and 'id="critical_fail" name="critical_fail"' in page  # now unticked
    assert 'checked id="action_due"' in page

    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    deliver_pending()
    assert smtp_server.to_addresses() == ["admin@acme.example"]

    # Ticked again: mails again, and that change is logged too.
    client.post("/account/notifications", data={**keep, "critical_fail": "y"})
    assert db.session.scalar(select(func.count()).select_from(NotificationOptOut)) == 0
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    deliver_pending()
    assert smtp_server.to_addresses() == ["admin@acme.example", "admin@acme.example", "manager@acme.example"]


def test_settings_show_only_the_kinds_of_the_role_and_need_csrf(app, make, site):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    _login_with_csrf(client, site["users"]["shopper"].email)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "No notification mails are sent to you as secret shopper." in page
    assert 'type="checkbox"' not in page

    client = app.test_client()
    _login_with_csrf(client, site["users"]["staff"].email)
    page, token = _page_and_token(client, "/account/notifications")
    assert 'name="action_overdue"' in page and 'name="critical_fail"' not in page
    response = client.post("/account/notifications", data={})  # no CSRF token
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(NotificationOptOut)) == 0
    response = client.post("/account/notifications", data={"csrf_token": token, "dispute_decided": "y"})
    assert response.status_code == 302
    kinds = sorted(db.session.scalars(select(NotificationOptOut.kind)))
    assert kinds == ["action_due", "action_overdue"]


def _page_and_token(client, url: str) -> tuple[str, str]:
    from flask import g

    g.pop("csrf_token", None)  # the test's app context outlives requests: Flask-WTF caches the last session's token there
    page = client.get(url).get_data(as_text=True)
    return page, page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def _login_with_csrf(client, email: str) -> None:
    _, token = _page_and_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 302


def test_the_account_page_links_to_the_settings(app, client, site):
    _login(client, site["users"]["shopper"].email)
    assert 'href="/account/notifications"' in client.get("/account").get_data(as_text=True)


# --- delivery -------------------------------------------------------------------------------------------------------


def test_smtp_down_keeps_the_mail_and_a_later_send_mail_delivers_it_once(app, client, make, site, smtp_server, runner):
    smtp_server.stop()
    token = make.token(site["users"]["shopper"])
    response = _post(client, token, _payload(site))
    assert response.status_code == 201  # the user's request does not fail

    first, second = _outbox()
    assert first.status == "pending" and first.attempts == 1 and "Connection refused" in first.last_error
    assert first.next_attempt_at is not None
    assert second.status == "pending" and second.attempts == 0  # not tried: the server was down

    smtp_server.start()
    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False):
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        assert "sent 2" in result.output
        again = runner.invoke(args=["send-mail"])
        assert "sent 0" in again.output
    assert smtp_server.to_addresses() == ["admin@acme.example", "manager@acme.example"]
    db.session.expire_all()
    assert [(m.status, m.attempts, m.last_error) for m in _outbox()] == [("sent", 2, ""), ("sent", 1, "")]


def test_a_failed_attempt_waits_for_its_backoff(app, make, site, smtp_server):
    smtp_server.stop()
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    now = utcnow()
    with time_machine.travel(now, tick=False):
        report = deliver_pending()
    assert report.retry_later == 1 and report.sent == 0
    smtp_server.start()
    with time_machine.travel(now + timedelta(seconds=30), tick=False):
        assert deliver_pending().sent == 1  # the untried one; the failed one waits a minute
    with time_machine.travel(now + timedelta(seconds=61), tick=False):
        assert deliver_pending().sent == 1
    assert len(smtp_server.received) == 2


def test_a_permanent_refusal_is_given_up_at_once_and_shown(app, make, site, smtp_server):
    smtp_server.refuse.add("manager@acme.example")
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    report = deliver_pending()
    assert (report.sent, report.given_up) == (1, 1)
    failed = _outbox(status="failed")
    assert [m.to_address for m in failed] == ["manager@acme.example"]
    assert "550" in failed[0].last_error and "No such user" in failed[0].last_error
    assert smtp_server.to_addresses() == ["admin@acme.example"]


def test_two_senders_at_once_send_each_message_exactly_once(app, make, site, smtp_server):
    org = site["org"]
    # Hashed once: scrypt takes most of a second per user on purpose.
    users = [add_user(org, f"m{i}@acme.example", f"M {i}", "", "manager", password_hash="x") for i in range(24)]
    for i, user in enumerate(users):
        queue("critical_fail", user, f"Notice {i}", "body", key=f"test:{i}", org_id=org.id)
    db.session.commit()
    smtp_server.delay = 0.02  # each send takes a while: both senders work through the same rows at the same time
    reports, errors = [], []
    start = threading.Barrier(2)

    def sender():
        try:
            with app.app_context():
                start.wait(10)
                reports.append(deliver_pending(limit=100))
        except Exception as error:  # pragma: no cover (reported below)
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.sent for r in reports) == 24
    assert all(r.sent > 0 for r in reports)  # both took part: each row was claimed by exactly one of them
    assert sorted(smtp_server.to_addresses()) == sorted(u.email for u in users)
    message_ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert len(set(message_ids)) == 24
    db.session.expire_all()
    assert {m.status for m in _outbox()} == {"sent"}


def test_without_mail_server_messages_wait_in_the_outbox(app, make, site, runner):
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code != 0 and "MAIL_SERVER is not set" in result.output
    assert [(m.status, m.attempts) for m in _outbox()] == [("pending", 0), ("pending", 0)]


def test_login_over_starttls_with_a_checked_certificate(app, make, site, tmp_path, monkeypatch):
    import shutil
    import ssl
    import subprocess

    from tests.mailserver import SmtpServer

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer(login=("mailer", "s3cret"), tls_context=context).start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this test certificate, and checks it
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong")
        queue("critical_fail", site["users"]["admin"], "Hello", "body", key="tls:1", org_id=site["org"].id)
        db.session.commit()
        report = deliver_pending()
        assert report.retry_later == 1 and "SMTPAuthenticationError" in report.errors[0]
        app.config["MAIL_PASSWORD"] = "s3cret"
        with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False):
            assert deliver_pending().sent == 1
        assert [r.subject for r in server.received] == ["Hello"]
    finally:
        server.stop()


# --- invites ----------------------------------------------------------------------------------------------------------


def test_invite_mail_goes_through_the_outbox(app, client, site, smtp_server):
    _login(client, site["users"]["admin"].email)
    response = client.post("/admin/users", data={"email": "new@acme.example", "role": "shopper", "location_id": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "created and mailed" in page
    (received,) = smtp_server.received
    assert received.to == "new@acme.example"
    assert received.subject == "You are invited to Acme Coffee on auditapp"
    link = next(line for line in received.body.splitlines() if "/invite/" in line).strip()
    assert link in page  # the same link the admin sees once
    (row,) = _outbox(kind="invite")
    assert row.status == "sent" and row.user_id is None and row.org_id == site["org"].id
    assert row.body_text == SECRET_BODY_SENT  # no usable link stays in the database
    client.post("/logout")
    assert client.get(link.replace("http://localhost", "")).status_code == 200


def test_invite_without_mail_server_says_copy_the_link(app, client, site):
    _login(client, site["users"]["admin"].email)
    page = client.post("/admin/users", data={"email": "new@acme.example", "role": "shopper", "location_id": ""})
    assert "Copy the link below and send it" in page.get_data(as_text=True)
    assert [m.status for m in _outbox(kind="invite")] == ["pending"]


# --- the outbox page ----------------------------------------------------------------------------------------------------


def test_the_outbox_page_shows_status_and_errors_to_admins_only(app, client, make, site, smtp_server):
    smtp_server.refuse.add("manager@acme.example")
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    deliver_pending()
    other_admin_message = queue("critical_fail", _user(site["other"], "admin", "x@other.example", "X"),
                                "Secret of the other org", "b", key="other:1", org_id=site["other"].id)
    db.session.commit()

    _login(client, site["users"]["admin"].email)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Critical fail at 001 City Centre" in page
    assert "outbox-sent" in page and "outbox-failed" in page
    assert "550" in page and "No such user here" in page
    assert "Secret of the other org" not in page
    assert "Mail is not configured" not in page
    assert client.post(f"/admin/outbox/{other_admin_message.id}/retry").status_code == 404

    failed = _outbox(status="failed")[0]
    smtp_server.refuse.clear()
    response = client.post(f"/admin/outbox/{failed.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMessage, failed.id).status == "sent"
    assert "manager@acme.example" in smtp_server.to_addresses()
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "mail.retry")) is not None

    for role in ("manager", "shopper", "staff"):
        other_client = app.test_client()
        _login(other_client, site["users"][role].email)
        assert other_client.get("/admin/outbox").status_code == 403


def test_the_outbox_page_says_when_mail_is_not_configured(app, client, make, site):
    make.evaluation(site["org"], site["journey"], site["location"], site["users"]["shopper"],
                    answers={"order.clean": "no"})
    _login(client, site["users"]["admin"].email)
    page = client.get("/admin/outbox?status=pending").get_data(as_text=True)
    assert "Mail is not configured" in page
    assert page.count("outbox-pending") == 2


# --- the notices for disputes and actions, and reminders ----------------------------------------------------------------


def test_dispute_notices_go_to_the_given_side(app, site, smtp_server):
    org, users = site["org"], site["users"]
    app.config["BASE_URL"] = "https://audits.example.com/"
    opened = notify_dispute_opened(
        org_id=org.id, dispute_id=5, evaluation_id=42, location_name="001 City Centre", journey_name="Café order",
        moment_name="Ordering", question_text="Counter clean and tidy?", reason="We cleaned it at 10:00",
        opened_by_name="Lou Site", recipients=org_managers(org.id))
    decided = notify_dispute_decided(
        org_id=org.id, dispute_id=5, location_name="001 City Centre", journey_name="Café order", moment_name="Ordering",
        question_text="Counter clean and tidy?", decision="accepted", reason="Photo shows it clean",
        decided_by_name="Max Manager", recipients=[users["staff"]], link="https://example.test/d/5")
    db.session.commit()
    assert len(opened) == 2 and len(decided) == 1
    deliver_pending()
    by_to = {r.to: r for r in smtp_server.received}
    assert by_to["admin@acme.example"].subject == "Dispute opened: Counter clean and tidy? (001 City Centre, Café order)"
    assert "We cleaned it at 10:00" in by_to["manager@acme.example"].body
    assert "Decide it: https://audits.example.com/visits/review/42\n" in by_to["manager@acme.example"].body
    assert by_to["staff@acme.example"].subject.startswith("Dispute accepted:")
    assert "https://example.test/d/5" in by_to["staff@acme.example"].body
    # The same dispute is never announced twice.
    assert notify_dispute_decided(
        org_id=org.id, dispute_id=5, location_name="x", journey_name="x", moment_name="x", question_text="x",
        decision="accepted", reason="", decided_by_name="x", recipients=[users["staff"]]) == []


def test_send_reminders_runs_the_registered_providers_once_per_day(app, make, site, smtp_server, runner, monkeypatch):
    org, owner = site["org"], site["users"]["manager"]
    journey = site["journey"]
    action = Action(org_id=org.id, journey_id=journey.id, moment_key="order", idea="Clean the counter every hour",
                    owner_note=owner.name, location_id=site["location"].id, started_on=date(2026, 3, 1),
                    due_date=date(2026, 3, 8), status="open")
    db.session.add(action)
    db.session.commit()
    app.config["BASE_URL"] = "https://audits.example.com"

    def overdue_actions(now) -> int:
        today = now.date()
        queued = 0
        for a in db.session.scalars(select(Action).where(Action.due_date < today, Action.status == "open")):
            queued += notify_action_overdue(a, owner, today=today) is not None
        return queued

    monkeypatch.setitem(PROVIDERS, "test-actions", overdue_actions)
    with time_machine.travel("2026-03-10 08:00Z", tick=False):
        first = runner.invoke(args=["send-reminders"])
        second = runner.invoke(args=["send-reminders"])
    assert first.exit_code == 0, first.output
    assert "test-actions: 1 reminder(s) queued" in first.output and "sent 1" in first.output
    assert "test-actions: 0 reminder(s) queued" in second.output
    (received,) = smtp_server.received
    assert received.to == "manager@acme.example"
    assert received.subject == "Action overdue since 2026-03-08: Clean the counter every hour"
    assert "was due on 2026-03-08 (2 days late)" in received.body
    assert "Moment:   Ordering" in received.body and "Location: 001 City Centre" in received.body
    assert f"https://audits.example.com/results/actions/{action.id}" in received.body  # BASE_URL outside a request
    assert "https://audits.example.com/account/notifications" in received.body


def test_send_reminders_without_providers_says_so(app, runner, monkeypatch):
    monkeypatch.setattr("auditapp.notify.commands.PROVIDERS", {})
    result = runner.invoke(args=["send-reminders", "--no-send"])
    assert result.exit_code == 0 and "No reminder providers" in result.output
