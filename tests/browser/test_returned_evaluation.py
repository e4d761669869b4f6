"""On a phone: a shopper finds an evaluation the reviewer returned, fixes it in the phone form and sends it again,
online and offline. The fix keeps the evaluation's client_uuid: one evaluation, updated in place (revision 2)."""
from __future__ import annotations

import json
import re

import pytest

from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.visits.review import return_to_evaluator

from .helpers import choose, count, eventually, login

pytestmark = pytest.mark.browser
RESULT_URL = re.compile(r".*/evaluations/\d+$")


@pytest.fixture
def returned(make, live_server):
    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com")
    shopper = make.user(org, "shopper", email="shopper@example.com")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    evaluation = make.evaluation(org, journey, location, shopper, notes="Rushed visit", answers={
        "greeting.verdict": "magical", "order.verdict": "neutral", "farewell.verdict": "miserable"},
        durations={"order": 95})
    return_to_evaluator(evaluation, manager, "The farewell looks wrong: you wrote they waved goodbye")
    db.session.commit()
    return {"base": live_server, "id": evaluation.id, "score": evaluation.score, "uuid": evaluation.client_uuid,
            "fix": f"/evaluations/new?fix={evaluation.id}"}


def reload(evaluation_id: int) -> Evaluation:
    db.session.rollback()  # see the live server's commits
    return db.session.get(Evaluation, evaluation_id)


def local_records(page) -> list[dict]:
    raw = page.evaluate("""() => Object.keys(localStorage).filter(k => k.startsWith('auditapp:eval:'))
                                   .map(k => localStorage.getItem(k))""")
    return [json.loads(r) for r in raw]


def open_fix_from_my_visits(page, returned) -> None:
    login(page, returned["base"], "shopper@example.com", "/visits/mine")
    section = page.get_by_role("region", name="Returned to you")
    section.get_by_text("The farewell looks wrong").wait_for()
    link = section.get_by_role("link", name="Fix and send again")
    assert link.bounding_box()["height"] >= 48  # a thumb-sized target
    link.click()
    page.wait_for_url(returned["base"] + returned["fix"])
    page.get_by_text("Moment 1 of 3").first.wait_for()


def fix_the_farewell(page) -> None:
    """Walk to the farewell screen, change its verdict, and reach the finish screen with new notes."""
    for step in ("#m-greeting", "#m-order"):
        page.locator(f"{step} [data-next]").click()
    assert page.locator("[data-q='answers.farewell.verdict'] input[value='miserable']").is_checked()
    choose(page, "answers.farewell.verdict", "magical")
    page.locator("#m-farewell [data-next]").click()
    assert page.get_by_label("Overall notes").input_value() == "Rushed visit"
    page.get_by_label("Overall notes").fill("Rushed visit, but a warm goodbye")


def assert_fixed_in_place(returned) -> Evaluation:
    fixed = eventually(lambda: (e := reload(returned["id"])) is not None and e.status == "submitted" and e)
    assert count(Evaluation) == 1 and fixed.client_uuid == returned["uuid"]
    assert fixed.revision == 2
    assert {r.moment_key: r.verdict for r in fixed.moment_results}["farewell"] == "magical"
    assert {r.moment_key: r.duration_seconds for r in fixed.moment_results}["order"] == 95  # kept as it was sent
    assert fixed.score > returned["score"]
    assert fixed.notes == "Rushed visit, but a warm goodbye"
    assert [e.action for e in fixed.events] == ["submitted", "returned", "resubmitted"]
    changes = {c["field"]: (c["old"], c["new"]) for c in fixed.events[-1].changes}
    assert changes["farewell.verdict"] == ("miserable", "magical")
    assert "finished_at" not in changes and "started_at" not in changes  # the visit's times stay the visit's
    return fixed


def test_shopper_fixes_a_returned_evaluation_in_the_phone_form(phone, returned):
    page = phone().new_page()
    open_fix_from_my_visits(page, returned)
    page.get_by_text("The farewell looks wrong").first.wait_for()  # the reviewer's comment, on top
    assert page.locator("#m-order").is_hidden()  # one moment per screen, as in the phone form
    assert page.locator("input[name=client_uuid]").input_value() == returned["uuid"]  # the same evaluation
    assert page.locator("[data-q='answers.greeting.verdict'] input[value='magical']").is_checked()

    # A change is kept on the phone, under the evaluation's own client_uuid, and survives a reload.
    fix_the_farewell(page)
    page.wait_for_timeout(400)  # drafts are saved a moment after typing stops
    page.reload()
    page.get_by_text("Your changes are back").wait_for()
    assert page.locator("input[name=client_uuid]").input_value() == returned["uuid"]
    assert page.locator("input[name='answers.farewell.verdict'][value='magical']").is_checked()
    assert page.get_by_label("Overall notes").input_value() == "Rushed visit, but a warm goodbye"
    [record] = [r for r in local_records(page) if r["uuid"] == returned["uuid"]]
    assert record["state"] == "draft" and record["fix"] == returned["id"]
    assert reload(returned["id"]).status == "returned"  # nothing sent yet

    page.get_by_role("button", name="Send the fixed evaluation").click()
    page.wait_for_url(RESULT_URL)
    assert page.url.endswith(f"/evaluations/{returned['id']}")
    assert_fixed_in_place(returned)
    assert [r["state"] for r in local_records(page) if r["uuid"] == returned["uuid"]] == ["sent"]

    # Afterwards the fix form is closed: it leads to the result, and My visits no longer lists it.
    page.goto(returned["base"] + returned["fix"])
    page.wait_for_url(RESULT_URL)
    page.goto(returned["base"] + "/visits/mine")
    assert page.get_by_role("region", name="Returned to you").count() == 0


def test_a_fix_sent_offline_arrives_once_when_the_phone_is_back_online(phone, returned):
    context = phone()
    page = context.new_page()
    open_fix_from_my_visits(page, returned)
    eventually(lambda: page.evaluate("() => navigator.serviceWorker.controller !== null"))
    cached = """async () => !!(await (await caches.open('auditapp-pages-v1')).match(location.href))"""
    eventually(lambda: page.evaluate(cached))  # the fix page is kept on the phone
    fix_the_farewell(page)

    context.set_offline(True)
    page.get_by_role("button", name="Send the fixed evaluation").click()
    page.get_by_text("Waiting to send").first.wait_for()
    [record] = [r for r in local_records(page) if r["uuid"] == returned["uuid"]]
    assert record["state"] == "queued" and record["payload"]["client_uuid"] == returned["uuid"]
    assert reload(returned["id"]).status == "returned"

    page.reload()  # still offline: the service worker serves the kept page, which shows the waiting fix, not a form
    page.get_by_text("Waiting to send").first.wait_for()
    assert page.locator("#evaluation").is_hidden()
    page.goto(returned["base"] + "/evaluations/mine")
    local = page.locator("#local-evaluations")
    local.get_by_text("Waiting to send").wait_for()
    assert "Fix of Café order at Harbour" in local.inner_text()
    assert reload(returned["id"]).revision == 1

    context.set_offline(False)
    local.get_by_text("Sent and confirmed").wait_for(timeout=20_000)
    assert_fixed_in_place(returned)
    page.wait_for_timeout(1000)  # no second copy, no second revision follows
    assert count(Evaluation) == 1 and reload(returned["id"]).revision == 2
    assert [r["state"] for r in local_records(page) if r["uuid"] == returned["uuid"]] == ["sent"]


def test_the_fix_pages_pass_axe_without_serious_violations(phone, returned):
    from pathlib import Path

    axe = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.exists():
        pytest.skip("axe-core is not installed: run `npm install --no-audit --no-fund` in the project folder")
    page = phone(bypass_csp=True).new_page()
    login(page, returned["base"], "shopper@example.com", returned["fix"])
    for path in (returned["fix"], "/evaluations/mine", "/visits/mine"):
        page.goto(returned["base"] + path)
        page.add_script_tag(path=str(axe))
        result = page.evaluate("axe.run()")
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{path}: {bad}"
