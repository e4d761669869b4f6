"""Scheduled scorecards: a manager subscribes recipients; the sweep sends the Excel once per period (even with two
schedulers at once), catches up after downtime, attaches the file or links it when too large."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from auditapp.extensions import db
from auditapp.notify.models import OutboxMessage
from auditapp.queue import run_pending
from auditapp.schedules.models import ScheduleRun, ScorecardSchedule
from auditapp.schedules.periods import due_occurrences, occurrence_on
from auditapp.schedules.services import run_due_schedules
from tests.clock import on_frozen_dates

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def scene(app, make, tmp_path):
    app.config.update(EXPORT_DIR=str(tmp_path / "exports"), MAIL_SEND_AFTER_REQUEST=False)
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager")
    shopper = make.user(org, "shopper")
    location = make.location(org)
    journey = make.journey(org)
    for day in range(1, 15):
        make.evaluation(org, journey, location, shopper, started_at=datetime(2026, 6, day, 9, 0))
    return {"org": org, "manager": manager, "journey": journey, "location": location}


def login(client, user):
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 302


def schedule(client, scene, **overrides):
    data = {"journey_id": scene["journey"].id, "location_id": "", "source": "shopper", "frequency": "weekly",
            "weekday": 0, "day": 1, "hour": 7, "grain": "week", "recipients": "boss@example.com\nowner@example.com",
            **overrides}
    return client.post("/schedules", data=data)


# --- periods ----------------------------------------------------------------------------------------------------


@on_frozen_dates
@pytest.mark.parametrize("tz", ["UTC", "Europe/Stockholm"])
def test_due_periods_are_the_last_full_week_or_month_before_the_local_send_time(frozen_at, tz):
    from zoneinfo import ZoneInfo

    now = frozen_at.astimezone(UTC).replace(tzinfo=None)
    for frequency in ("weekly", "monthly"):
        latest, before = due_occurrences(now, frequency, weekday=2, day=3, hour=8, tz=tz)
        assert before.send_at < latest.send_at <= now
        local = latest.send_at.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
        assert local.hour == 8  # the local hour, whatever the offset that day
        if frequency == "weekly":
            assert local.weekday() == 2 and latest.date_from.weekday() == 0 and latest.date_to.weekday() == 6
            assert latest.date_to < local.date() and (local.date() - latest.date_to).days <= 9
            assert (latest.send_at - before.send_at) in (timedelta(days=7), timedelta(days=7, hours=1),
                                                         timedelta(days=7, hours=-1))
        else:
            assert local.day == 3 and latest.date_from.day == 1
            assert latest.date_to.month == (local.date().replace(day=1) - timedelta(days=1)).month
            assert (latest.date_to + timedelta(days=1)).day == 1
        # the next send is still ahead: nothing between the latest one and now
        upcoming = due_occurrences(now + timedelta(days=40), frequency, weekday=2, day=3, hour=8, tz=tz, back=12)
        assert [o for o in upcoming if latest.send_at < o.send_at <= now] == []


def test_send_times_across_stockholms_clock_changes():
    # Spring: 2027-03-28 02:30 does not exist in Stockholm; it is sent at 01:30 UTC (03:30 summer time).
    spring = occurrence_on(datetime(2027, 3, 28).date(), "weekly", 2, "Europe/Stockholm")
    assert spring.send_at == datetime(2027, 3, 28, 1, 0)
    assert occurrence_on(datetime(2027, 3, 29).date(), "weekly", 7, "Europe/Stockholm").send_at == datetime(2027, 3, 29, 5, 0)
    assert occurrence_on(datetime(2027, 3, 27).date(), "weekly", 7, "Europe/Stockholm").send_at == datetime(2027, 3, 27, 6, 0)
    # Autumn: 02:00 happens twice on 2026-10-25; the first one (summer time, 00:00 UTC) counts.
    autumn = occurrence_on(datetime(2026, 10, 25).date(), "weekly", 2, "Europe/Stockholm")
    assert autumn.send_at == datetime(2026, 10, 25, 0, 0)
    # Week keys: ISO weeks, 2026 has 53.
    assert occurrence_on(datetime(2027, 1, 4).date(), "weekly", 7, "UTC").key == "2026-W53"
    assert occurrence_on(datetime(2026, 3, 1).date(), "monthly", 7, "UTC").key == "2026-02"
    # Just before and just after the local hour on the spring day
    before = due_occurrences(datetime(2027, 3, 29, 4, 59), "weekly", weekday=0, hour=7, tz="Europe/Stockholm")[0]
    after = due_occurrences(datetime(2027, 3, 29, 5, 0), "weekly", weekday=0, hour=7, tz="Europe/Stockholm")[0]
    assert before.key == "2027-W11" and after.key == "2027-W12"


# --- sending ----------------------------------------------------------------------------------------------------


def test_a_manager_schedules_and_the_scorecard_arrives_once_with_the_excel(app, client, scene, smtp_server, frozen_clock):
    login(client, scene["manager"])
    assert schedule(client, scene).status_code == 302
    saved = db.session.scalars(db.select(ScorecardSchedule)).one()
    assert saved.recipients == ["boss@example.com", "owner@example.com"]
    assert "every Monday at 07:00" in client.get("/schedules").get_data(as_text=True)
    assert run_due_schedules() == 0  # made on Thursday 18 June (Stockholm): the first Monday is still ahead
    frozen_clock.shift(timedelta(days=4, hours=6))  # Monday 22 June 07:30 in Stockholm
    assert run_due_schedules() == 1
    run_pending()
    assert smtp_server.to_addresses() == ["boss@example.com", "owner@example.com"]
    mail = smtp_server.received[0].message
    assert "week 25 of 2026" in str(mail["Subject"])
    attachment = next(part for part in mail.iter_attachments())
    assert attachment.get_content_type() == XLSX and attachment.get_filename().endswith(".xlsx")
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    summary = CalamineWorkbook.from_filelike(BytesIO(attachment.get_content())).get_sheet_by_name("Summary").to_python()
    assert any(row[0] == "From" and str(row[1]).startswith("2026-06-15") for row in summary)
    assert run_due_schedules() == 0  # once per period
    frozen_clock.shift(timedelta(days=1))
    assert run_due_schedules() == 0
    run_pending()
    assert len(smtp_server.received) == 2


def test_two_schedulers_at_once_send_each_period_once(app, client, scene, frozen_clock):
    if db.engine.dialect.name == "sqlite" and db.engine.url.database in (None, "", ":memory:"):
        pytest.skip("needs a database file or server shared by two connections")
    login(client, scene["manager"])
    schedule(client, scene)
    frozen_clock.shift(timedelta(days=4, hours=6))
    results, errors = [], []
    barrier = threading.Barrier(2)

    def scheduler():
        try:
            with app.app_context():
                barrier.wait(5)
                results.append(run_due_schedules())
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sorted(results) == [0, 1]
    assert db.session.scalar(db.select(db.func.count(ScheduleRun.id))) == 1
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 2


def test_it_catches_up_after_downtime_without_sending_twice(app, client, scene, frozen_clock):
    login(client, scene["manager"])
    schedule(client, scene)
    frozen_clock.shift(timedelta(days=11, hours=6))  # down over two Mondays (22 and 29 June)
    assert run_due_schedules() == 2
    periods = sorted(db.session.scalars(db.select(ScheduleRun.period)))
    assert periods == ["2026-W25", "2026-W26"]
    assert run_due_schedules() == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 4


def test_a_crash_between_claim_and_send_is_taken_over_later(app, client, scene, frozen_clock, monkeypatch):
    from auditapp.schedules import services

    login(client, scene["manager"])
    schedule(client, scene, recipients="boss@example.com")
    frozen_clock.shift(timedelta(days=4, hours=6))
    real = services.send_period
    monkeypatch.setattr(services, "send_period", lambda *a: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        run_due_schedules()
    db.session.rollback()
    monkeypatch.setattr(services, "send_period", real)
    assert db.session.scalars(db.select(ScheduleRun.status)).one() == "claimed"
    assert run_due_schedules() == 0  # the claim still holds
    frozen_clock.shift(timedelta(minutes=31))
    assert run_due_schedules() == 1
    assert db.session.scalars(db.select(ScheduleRun.status)).one() == "sent"
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 1


def test_a_large_scorecard_is_sent_as_a_link(app, client, scene, smtp_server, frozen_clock):
    app.config["SCHEDULE_ATTACH_MAX_BYTES"] = 100
    login(client, scene["manager"])
    schedule(client, scene, frequency="monthly", day=1, recipients="boss@example.com")
    frozen_clock.shift(timedelta(days=13, hours=6))  # 1 July, 07:30 Stockholm
    assert run_due_schedules() == 1
    run_pending()
    mail = smtp_server.received[0]
    assert list(mail.message.iter_attachments()) == [] and "June 2026" in mail.subject
    link = next(line for line in mail.body.splitlines() if "/schedules/file/" in line)
    path = link[link.index("/schedules/file/"):]
    anonymous = app.test_client()
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == XLSX
    response.close()
    assert anonymous.get(path + "x").status_code == 404
    frozen_clock.shift(timedelta(days=8))
    assert anonymous.get(path).status_code == 404  # the link ends with the file's keeping time


def test_schedule_form_errors_keep_what_was_typed(app, client, scene, make):
    login(client, scene["manager"])
    html = schedule(client, scene, recipients="boss@example.com, not-an-address", hour=25).get_data(as_text=True)
    assert "Enter an hour from 0 to 23." in html and "not-an-address" in html
    html = schedule(client, scene, recipients="boss@example.com, not-an-address").get_data(as_text=True)
    assert "Enter e-mail addresses only (not-an-address is not one)." in html
    foreign = make.journey(make.org())
    assert schedule(client, scene, journey_id=foreign.id).status_code == 200
    assert db.session.scalar(db.select(db.func.count(ScorecardSchedule.id))) == 0
    shopper = make.user(scene["org"], "shopper")
    other = app.test_client()
    login(other, shopper)
    assert other.get("/schedules").status_code == 403
