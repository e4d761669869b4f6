"""Corrective actions through HTTP: created from a failed item, moment or weak heatmap cell, owned by a member, marked
done with evidence, verified or reopened; who may see and do what; the overdue list and count; the reminders mail."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from auditapp.auth.models import AuditLog
from auditapp.evaluations.models import Photo
from auditapp.extensions import db
from auditapp.notify.models import OutboxMessage
from auditapp.results.actions import ActionData, create_action, overdue_actions, queue_action_reminders, transition
from auditapp.results.models import Action, ActionEvent
from auditapp.timeutil import local_today, utcnow
from tests.clock import in_org_zones, on_frozen_dates

from .test_photos import jpeg_with_gps
from .test_results_queries import ALL_MISERABLE


class World:
    pass


@pytest.fixture
def w(make, auth, tz):
    """A chain with two sites (North: Harbour, South: Airport), a manager and an admin, a location manager of each
    site, a regional manager of the North, a shopper and a staff member; and another organisation."""
    x = World()
    x.org = make.org(name="Chain", slug="chain", timezone=tz)
    x.north = make.location(x.org, code="N01", name="Harbour", region="North")
    x.south = make.location(x.org, code="S01", name="Airport", region="South")
    x.manager = make.user(x.org, "manager", email="boss@chain.example", name="Bo Boss")
    x.admin = make.user(x.org, "admin", email="admin@chain.example", name="Ada Admin")
    x.site = make.user(x.org, "location_manager", email="site@chain.example", name="Cleo Harbour", places=[x.north])
    x.south_site = make.user(x.org, "location_manager", email="south@chain.example", name="Sven Airport",
                             places=[x.south])
    x.region = make.user(x.org, "regional_manager", email="region@chain.example", name="Rita North",
                         regions=["North"])
    x.shopper = make.user(x.org, "shopper", email="shop@chain.example")
    x.staff = make.user(x.org, "staff", email="staff@chain.example", location=x.north)
    x.journey = make.journey(x.org)
    x.other = make.org(name="Other", slug="other")
    x.other_manager = make.user(x.other, "manager", email="boss@other.example")
    x.today = local_today(tz)
    x.auth, x.make = auth, make
    return x


def new_action(w, *, location=None, owner=None, due_in=7, moment="order", question=None, idea="Wipe the counter hourly"):
    action = create_action(w.org.id, w.journey.id, ActionData(
        moment_key=moment, question_key=question, idea=idea, definition_of_done="A signed cleaning sheet",
        owner_id=(owner or w.site).id, location_id=(location or w.north).id if location is not False else None,
        due_date=w.today + timedelta(days=due_in)), user=w.manager, today=w.today)
    db.session.commit()
    return action


def form_data(w, **changes) -> dict:
    data = {"moment_key": "order", "question": "", "location_id": str(w.north.id), "idea": "Wipe the counter hourly",
            "definition_of_done": "A signed cleaning sheet on the wall", "owner_id": str(w.site.id),
            "started_on": w.today.isoformat(), "due_date": (w.today + timedelta(days=7)).isoformat()}
    data.update(changes)
    return data


def photo_upload(data: bytes, name: str = "evidence.jpg"):
    return (io.BytesIO(data), name)


# --- creating: from a failed item, moment or weak cell --------------------------------------------------------------


def test_a_failed_item_on_the_review_page_starts_a_prefilled_action(client, w):
    evaluation = w.make.evaluation(w.org, w.journey, w.north, w.shopper, {"order.clean": "no"})
    w.auth.login(w.manager.email)
    page = client.get(f"/visits/review/{evaluation.id}").get_data(as_text=True)
    links = [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]*actions/new[^"]*)"', page)]
    item = next(link for link in links if "question=clean" in link)
    assert "moment=order" in item and f"location_id={w.north.id}" in item and f"evaluation_id={evaluation.id}" in item
    assert any("moment=order" in link and "question=" not in link for link in links)  # the failed moment itself
    assert not any("moment=greeting" in link for link in links)  # a moment that did not fail offers nothing

    form = client.get(item).get_data(as_text=True)
    assert re.search(r'<option selected value="order.clean">|value="order.clean" selected', form)
    assert re.search(rf'<option selected value="{w.north.id}">|value="{w.north.id}" selected', form)
    # The location's own managers are offered first, and the location manager is chosen already.
    owners = form.split('id="owner_id"', 1)[1].split("</select>", 1)[0]
    assert owners.index('label="Look after this location"') < owners.index("Cleo Harbour") < \
        owners.index('label="Others in the organisation"') < owners.index("Bo Boss")
    assert owners.index("Rita North") < owners.index('label="Others in the organisation"')  # her region
    assert re.search(rf'<option selected value="{w.site.id}">|value="{w.site.id}" selected', owners)
    assert "shop@chain.example" not in owners and "staff@chain.example" not in owners  # they never own actions
    assert f'name="evaluation_id" type="hidden" value="{evaluation.id}"' in form

    response = client.post(item, data=form_data(w, question="order.clean", evaluation_id=str(evaluation.id)))
    assert response.status_code == 302
    action = db.session.scalar(select(Action))
    assert (action.moment_key, action.question_key, action.location_id, action.evaluation_id, action.owner_id) == \
        ("order", "clean", w.north.id, evaluation.id, w.site.id)
    assert action.definition_of_done == "A signed cleaning sheet on the wall" and action.status == "open"
    assert [e.kind for e in action.events] == ["created"]
    detail = client.get(response.location).get_data(as_text=True)
    assert "Counter clean and tidy?" in detail and "Cleo Harbour" in detail and "A signed cleaning sheet" in detail
    assert f"/visits/review/{evaluation.id}" in detail


def test_a_failed_moment_in_the_drill_down_and_a_weak_heatmap_cell_start_actions(client, w):
    for _ in range(3):
        w.make.evaluation(w.org, w.journey, w.north, w.manager, ALL_MISERABLE, source="shopper")
    w.auth.login(w.manager.email)
    page = client.get(f"/results/journeys/{w.journey.id}?period=all").get_data(as_text=True)
    weak = page.split("Weak cells", 1)[1].split("</ul>", 1)[0]
    assert "Harbour" in weak and "Plan an action" in weak
    assert f"location_id={w.north.id}" in weak and "actions/new" in weak
    drill = client.get(f"/results/journeys/{w.journey.id}/evaluations?period=all&moment=order"
                       f"&location_id={w.north.id}").get_data(as_text=True)
    plans = [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]*actions/new[^"]*)"', drill)]
    assert any(f"location_id={w.north.id}" in link and "evaluation_id=" in link for link in plans)  # each failed visit
    assert any("evaluation_id=" not in link and f"location_id={w.north.id}" in link for link in plans)  # the cell


def test_bad_input_names_the_field_keeps_what_was_typed_and_stores_nothing(client, w):
    w.auth.login(w.manager.email)
    url = f"/results/journeys/{w.journey.id}/actions/new"
    cases = [
        ({"idea": ""}, "Describe the improvement."),
        ({"definition_of_done": ""}, "means, so the owner and the verifier agree"),  # lazy messages are not re-escaped
        ({"owner_id": ""}, "Choose who owns the action."),
        ({"owner_id": str(w.shopper.id)}, "Choose the owner from the list."),
        ({"owner_id": str(w.other_manager.id)}, "Choose the owner from the list."),
        ({"owner_id": str(w.south_site.id)}, "Sven Airport does not look after this location"),
        ({"due_date": ""}, "Give a due date"),
        ({"due_date": "31/12/2026"}, "Not a valid date value."),
        ({"due_date": (w.today - timedelta(days=1)).isoformat(), "started_on": (w.today - timedelta(days=9)).isoformat()},
         "The due date is in the past"),
        ({"question": "greeting.greeted"}, "This item belongs to another moment"),
        ({"question": "order.nope"}, "Choose a checklist item from the list."),
        ({"location_id": "999999"}, "Choose a location from the list."),
    ]
    for change, message in cases:
        response = client.post(url, data=form_data(w, **{**change, "idea": change.get("idea", "Kept idea text")}))
        text = response.get_data(as_text=True)
        assert response.status_code == 422, change
        assert message in text, (change, message)
        if change.get("idea", "x"):
            assert "Kept idea text" in text
    assert db.session.scalar(select(Action)) is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "action.create")) is None


def test_a_scoped_owner_may_own_an_action_for_every_location_and_the_south_manager_only_the_south(client, w):
    w.auth.login(w.manager.email)
    url = f"/results/journeys/{w.journey.id}/actions/new"
    assert client.post(url, data=form_data(w, location_id="", owner_id=str(w.region.id))).status_code == 302
    assert client.post(url, data=form_data(w, location_id=str(w.south.id), owner_id=str(w.south_site.id))).status_code == 302
    owners = {(a.location_id, a.owner_id) for a in db.session.scalars(select(Action))}
    assert owners == {(None, w.region.id), (w.south.id, w.south_site.id)}


# --- the flow ------------------------------------------------------------------------------------------------------


def test_owner_marks_done_with_a_photo_manager_reopens_then_verifies(client, w, app):
    action = new_action(w)
    w.auth.login(w.site.email)
    page = client.get(f"/results/actions/{action.id}").get_data(as_text=True)
    assert "Mark it done" in page and "Verify it" not in page and "Edit the action" not in page
    assert 'enctype="multipart/form-data"' in page

    refused = client.post(f"/results/actions/{action.id}/done", data={"done-note": "  "})
    assert refused.status_code == 422 and "write what was done, add a photo, or both" in refused.get_data(as_text=True)
    bad = client.post(f"/results/actions/{action.id}/done", content_type="multipart/form-data",
                      data={"done-note": "Sheet is up", "done-photo": photo_upload(b"<svg onload=alert(1)>", "x.svg")})
    assert bad.status_code == 422 and "SVG drawings" in bad.get_data(as_text=True)
    assert "Sheet is up" in bad.get_data(as_text=True)  # the note typed is kept
    db.session.refresh(action)
    assert action.status == "open" and db.session.scalar(select(Photo)) is None

    done = client.post(f"/results/actions/{action.id}/done", content_type="multipart/form-data",
                       data={"done-note": "Sheet is up, signed every hour", "done-photo": photo_upload(jpeg_with_gps())})
    assert done.status_code == 302
    db.session.refresh(action)
    assert action.status == "done" and action.done_at == utcnow()
    photo = db.session.scalar(select(Photo))
    assert max(photo.width, photo.height) <= 1600 and photo.evaluation_id is None
    stored = Image.open(io.BytesIO((Path(app.config["UPLOAD_DIR"]) / photo.path).read_bytes()))
    assert stored.format == "JPEG" and not stored.getexif()  # downscaled, EXIF (GPS) stripped
    again = client.post(f"/results/actions/{action.id}/done", data={"done-note": "again"})
    assert again.status_code == 409 and "cannot be marked done now" in again.get_data(as_text=True)
    assert client.post(f"/results/actions/{action.id}/verify", data={}).status_code == 403  # not the owner's call
    url = f"/results/actions/{action.id}/photos/{photo.public_id}"
    assert client.get(url).status_code == 200

    w.auth.logout()
    w.auth.login(w.manager.email)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    page = client.get(f"/results/actions/{action.id}").get_data(as_text=True)
    assert "Sheet is up, signed every hour" in page and url in page and "Verify it" in page
    missing = client.post(f"/results/actions/{action.id}/reopen", data={"reopen-note": ""})
    assert missing.status_code == 422 and "Give a reason" in missing.get_data(as_text=True)
    assert client.post(f"/results/actions/{action.id}/reopen",
                       data={"reopen-note": "The late shift does not sign"}).status_code == 302
    db.session.refresh(action)
    assert action.status == "open" and action.done_at is None
    early = client.post(f"/results/actions/{action.id}/verify", data={})
    assert early.status_code == 409 and "open: it cannot be verified now" in early.get_data(as_text=True)

    w.auth.logout()
    w.auth.login(w.site.email)
    mine = client.get("/results/actions/mine").get_data(as_text=True)
    assert "Wipe the counter hourly" in mine
    assert client.post(f"/results/actions/{action.id}/done", data={"done-note": "Both shifts sign now"}).status_code == 302
    w.auth.logout()
    w.auth.login(w.manager.email)
    assert client.post(f"/results/actions/{action.id}/verify", data={"verify-note": "Seen on a visit"}).status_code == 302
    db.session.refresh(action)
    assert action.status == "verified" and action.verified_at == utcnow()
    events = [(e.kind, e.from_status, e.to_status, e.user_id) for e in action.events]
    assert events == [("created", "", "open", w.manager.id), ("done", "open", "done", w.site.id),
                      ("reopened", "done", "open", w.manager.id), ("done", "open", "done", w.site.id),
                      ("verified", "done", "verified", w.manager.id)]
    assert action.events[2].note == "The late shift does not sign"
    logged = [e.action for e in db.session.scalars(select(AuditLog).where(AuditLog.object_type == "action")
                                                    .order_by(AuditLog.id))]
    assert logged == ["action.create", "action.done", "action.reopened", "action.done", "action.verified"]
    history = client.get(f"/results/actions/{action.id}").get_data(as_text=True).split('id="history-title"', 1)[1]
    assert [m for m in re.findall(r"<strong>([^<]+)</strong> by", history)] == \
        ["Created", "Marked done", "Reopened", "Marked done", "Verified"]
    final = client.post(f"/results/actions/{action.id}/reopen", data={"reopen-note": "why not"})
    assert final.status_code == 409 and "verified: it cannot be reopened now" in final.get_data(as_text=True)


def test_managers_drop_and_reopen_and_edit(client, w):
    action = new_action(w)
    w.auth.login(w.admin.email)
    assert client.post(f"/results/actions/{action.id}/drop", data={"drop-note": "The counter is gone"}).status_code == 302
    db.session.refresh(action)
    assert action.status == "dropped"
    assert "Wipe the counter" not in client.get(f"/results/journeys/{w.journey.id}/actions").get_data(as_text=True)
    assert client.post(f"/results/actions/{action.id}/reopen", data={"reopen-note": "It is back"}).status_code == 302
    response = client.post(f"/results/actions/{action.id}/edit", data=form_data(w, owner_id=str(w.region.id)))
    assert response.status_code == 302
    db.session.refresh(action)
    assert action.status == "open" and action.owner_id == w.region.id


# --- access ---------------------------------------------------------------------------------------------------------


def test_another_organisations_action_is_404_everywhere(client, w, make):
    action = new_action(w)
    event = action.events[0]
    w.auth.login(w.other_manager.email)
    for url in (f"/results/actions/{action.id}", f"/results/actions/{action.id}/edit",
                f"/results/actions/{action.id}/photos/nothing"):
        assert client.get(url).status_code == 404, url
    for step in ("done", "verify", "reopen", "drop"):
        assert client.post(f"/results/actions/{action.id}/{step}", data={f"{step}-note": "x"}).status_code == 404
    assert client.post(f"/results/actions/{action.id}/edit", data=form_data(w)).status_code == 404
    assert b"Wipe the counter" not in client.get("/results/actions/overdue").data
    assert b"Wipe the counter" not in client.get("/results/actions/mine").data
    db.session.refresh(action)
    assert action.status == "open" and [e.id for e in action.events] == [event.id]


def test_place_scoped_managers_see_their_places_actions_only(client, w):
    north = new_action(w, idea="North idea")
    south = new_action(w, location=w.south, owner=w.south_site, idea="South idea")
    everywhere = new_action(w, location=False, owner=w.manager, idea="Everywhere idea")
    for user, sees, hidden in ((w.site, [north, everywhere], [south]), (w.region, [north, everywhere], [south]),
                               (w.south_site, [south, everywhere], [north])):
        w.auth.login(user.email)
        listing = client.get(f"/results/journeys/{w.journey.id}/actions").get_data(as_text=True)
        for action in sees:
            assert action.idea in listing, (user.email, action.idea)
            assert client.get(f"/results/actions/{action.id}").status_code == 200
        for action in hidden:
            assert action.idea not in listing
            assert client.get(f"/results/actions/{action.id}").status_code == 404
            assert client.post(f"/results/actions/{action.id}/done", data={"done-note": "x"}).status_code == 404
        dash = client.get(f"/results/journeys/{w.journey.id}").get_data(as_text=True)
        assert all(a.idea not in dash for a in hidden)
        assert client.get(f"/results/actions/{everywhere.id}/edit").status_code == 403  # managers edit
        w.auth.logout()
    # They see the action for every location, but mark done only what they own.
    w.auth.login(w.region.email)
    refused = client.post(f"/results/actions/{north.id}/done", data={"done-note": "I did it"})
    assert refused.status_code == 403 and "owner or a manager" in refused.get_data(as_text=True)
    assert "Mark it done" not in client.get(f"/results/actions/{north.id}").get_data(as_text=True)
    db.session.refresh(north)
    assert north.status == "open"


def test_shoppers_and_staff_are_refused(client, w):
    action = new_action(w)
    for user in (w.shopper, w.staff):
        w.auth.login(user.email)
        for url in (f"/results/actions/{action.id}", "/results/actions/mine", "/results/actions/overdue",
                    f"/results/journeys/{w.journey.id}/actions", f"/results/journeys/{w.journey.id}/actions/new",
                    f"/results/actions/{action.id}/edit"):
            assert client.get(url).status_code == 403, (user.email, url)
        assert client.post(f"/results/actions/{action.id}/done", data={"done-note": "x"}).status_code == 403
        w.auth.logout()
    assert client.get("/results/actions/mine").status_code == 302  # anonymous: to the login page


def test_every_action_form_carries_a_csrf_token_and_a_post_without_one_is_refused(client, w, app):
    action = new_action(w)
    transition(action, "done", user=w.site, note="Done")
    db.session.commit()
    w.auth.login(w.manager.email)
    app.config["WTF_CSRF_ENABLED"] = True
    for url in (f"/results/journeys/{w.journey.id}/actions/new", f"/results/actions/{action.id}/edit",
                f"/results/actions/{action.id}"):
        page = client.get(url).get_data(as_text=True)
        forms = re.findall(r'<form method="post".*?</form>', page, flags=re.S)
        assert forms, url
        assert all('name="csrf_token"' in form or 'csrf_token" type="hidden"' in form for form in forms), url
    refused = client.post(f"/results/actions/{action.id}/verify", data={"verify-note": ""})
    assert refused.status_code == 400
    db.session.refresh(action)
    assert action.status == "done"


# --- overdue: the list, the count, My actions --------------------------------------------------------------------------


@on_frozen_dates
@in_org_zones
def test_overdue_actions_are_listed_and_counted_at_the_organisations_date(client, w):
    late = new_action(w, idea="Late one", due_in=0)
    later = new_action(w, idea="Very late one", due_in=0)
    due_today = new_action(w, idea="Due today", due_in=0)
    upcoming = new_action(w, idea="Next week", due_in=7)
    done_late = new_action(w, idea="Done but late", due_in=0)
    for action, days in ((late, 1), (later, 9), (due_today, 0), (done_late, 3)):
        action.due_date = w.today - timedelta(days=days)
    transition(done_late, "done", user=w.site, note="done")
    db.session.commit()
    assert [a.idea for a in overdue_actions(w.org.id, w.today)] == ["Very late one", "Late one"]
    # One day on: the one due today is overdue too.
    assert [a.idea for a in overdue_actions(w.org.id, w.today + timedelta(days=1))] == \
        ["Very late one", "Late one", "Due today"]

    w.auth.login(w.manager.email)
    page = client.get("/results/actions/overdue").get_data(as_text=True)
    assert page.index("Very late one") < page.index("Late one")
    assert "9 days late" in page and "1 day late" in page
    assert "Due today" not in page and "Next week" not in page and "Done but late" not in page
    dash = client.get(f"/results/journeys/{w.journey.id}").get_data(as_text=True)
    assert re.search(r">2 overdue</a>", dash)
    w.auth.logout()
    w.auth.login(w.site.email)
    mine = client.get("/results/actions/mine").get_data(as_text=True)
    order = [mine.index(idea) for idea in ("Very late one", "Late one", "Done but late", "Due today", "Next week")]
    assert order == sorted(order)  # overdue first, then by due date
    assert upcoming.idea in mine
    assert 'href="/results/actions/mine"' in client.get("/sites/visits").get_data(as_text=True)


# --- reminders by mail -------------------------------------------------------------------------------------------------


@in_org_zones
def test_send_reminders_mails_the_owner_when_due_and_when_overdue_once(app, w, runner, smtp_server, frozen_clock):
    app.config["BASE_URL"] = "https://audits.example.com"
    due = new_action(w, idea="Due tomorrow", due_in=1)
    late = new_action(w, idea="Late action", due_in=0, owner=w.region)
    late.due_date = w.today - timedelta(days=2)
    far = new_action(w, idea="Due next month", due_in=30)
    done = new_action(w, idea="Already done", due_in=0)
    done.due_date = w.today - timedelta(days=2)
    transition(done, "done", user=w.site, note="done")
    db.session.commit()

    first = runner.invoke(args=["send-reminders"])
    assert first.exit_code == 0, first.output
    assert "actions: 2 reminder(s) queued" in first.output and "sent 2" in first.output
    by_to = {r.to: r for r in smtp_server.received}
    assert set(by_to) == {"site@chain.example", "region@chain.example"}
    assert by_to["site@chain.example"].subject == f"Action due {due.due_date.isoformat()}: Due tomorrow"
    assert f"https://audits.example.com/results/actions/{due.id}\n" in by_to["site@chain.example"].body
    assert by_to["region@chain.example"].subject == f"Action overdue since {late.due_date.isoformat()}: Late action"
    assert "(2 days late)" in by_to["region@chain.example"].body and "Location: N01 Harbour" in by_to["region@chain.example"].body
    assert far.idea not in str([r.subject for r in smtp_server.received])

    again = runner.invoke(args=["send-reminders"])
    assert "actions: 0 reminder(s) queued" in again.output  # deduped: the same reminder never twice
    frozen_clock.shift(timedelta(days=1))
    assert queue_action_reminders(utcnow()) == 0  # a day later: no daily nagging
    frozen_clock.shift(timedelta(days=6))
    # A week after the first overdue mail: once more; and "Due tomorrow" is now late: its first overdue mail.
    assert queue_action_reminders(utcnow()) == 2
    db.session.commit()
    keys = list(db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "action_overdue")))
    assert sorted(int(k.split(":")[1]) for k in keys) == sorted([late.id, late.id, due.id])


def test_reminders_skip_owners_who_turned_them_off_and_other_organisations(app, w, make):
    from auditapp.notify.models import NotificationOptOut

    new_action(w, idea="Due soon", due_in=0)
    db.session.add(NotificationOptOut(user_id=w.site.id, kind="action_due"))
    other_journey = make.journey(w.other)
    create_action(w.other.id, other_journey.id, ActionData(
        moment_key="order", idea="Theirs", definition_of_done="x", owner_id=w.other_manager.id,
        due_date=local_today(w.other.timezone)), user=w.other_manager, today=local_today(w.other.timezone))
    db.session.commit()
    assert queue_action_reminders(utcnow()) == 1
    (message,) = db.session.scalars(select(OutboxMessage))
    assert message.to_address == "boss@other.example" and message.org_id == w.other.id


def test_the_reminder_provider_is_registered():
    from auditapp.notify.reminders import PROVIDERS

    assert PROVIDERS["actions"] is queue_action_reminders


def test_overdue_reminders_use_the_organisations_date(app, make):
    """23:30 UTC on 31 Jan is already 1 Feb in Stockholm: a 31 Jan action is overdue there, due today in UTC."""
    with time_machine.travel("2026-01-31 23:30Z", tick=False):
        results = {}
        for tz in ("UTC", "Europe/Stockholm"):
            org = make.org(timezone=tz)
            owner = make.user(org, "manager")
            journey = make.journey(org)
            action = Action(org_id=org.id, journey_id=journey.id, moment_key="order", idea=f"In {tz}",
                            definition_of_done="x", owner_id=owner.id, started_on=utcnow().date(),
                            due_date=utcnow().date(), status="open")
            db.session.add(action)
            db.session.commit()
            queue_action_reminders(utcnow())
            results[tz] = db.session.scalar(select(OutboxMessage.kind).where(OutboxMessage.user_id == owner.id))
    assert results == {"UTC": "action_due", "Europe/Stockholm": "action_overdue"}


def test_history_events_cascade_with_the_action(w):
    action = new_action(w)
    transition(action, "done", user=w.site, note="x")
    db.session.commit()
    db.session.delete(action)
    db.session.commit()
    assert db.session.scalar(select(ActionEvent)) is None


def test_an_overdue_action_is_announced_to_webhooks_once_per_due_date(app, w, frozen_clock):
    """action.overdue reaches a receiver on loopback, signed, once however often reminders run; a new due date that
    is missed again is announced again."""
    import hashlib
    import hmac
    import json

    from auditapp.queue import run_pending
    from auditapp.webhooks.models import Webhook
    from tests.app.test_webhooks import Receiver

    receiver = Receiver()
    try:
        db.session.add(Webhook(org_id=w.org.id, url=receiver.url, events=["action.overdue"], secret="whsec_a"))
        on_time = new_action(w, idea="Due next week", due_in=7)
        late = new_action(w, idea="Late action", due_in=0)
        late.due_date = w.today - timedelta(days=2)
        db.session.commit()
        for _ in range(3):
            queue_action_reminders(utcnow())
            db.session.commit()
            run_pending()
        assert len(receiver.received) == 1
        headers, body = receiver.received[0]
        assert headers["X-Auditapp-Signature"] == "sha256=" + hmac.new(b"whsec_a", body, hashlib.sha256).hexdigest()
        event = json.loads(body)
        assert event["event"] == "action.overdue"
        assert event["data"]["action_id"] == late.id and event["data"]["days_late"] == 2
        assert on_time.id not in [json.loads(b)["data"]["action_id"] for _, b in receiver.received]
        late.due_date = w.today + timedelta(days=1)  # a new date, missed again two days later
        db.session.commit()
        frozen_clock.shift(timedelta(days=2))
        queue_action_reminders(utcnow())
        db.session.commit()
        run_pending()
        assert [json.loads(b)["data"]["action_id"] for _, b in receiver.received] == [late.id, late.id]
    finally:
        receiver.stop()
