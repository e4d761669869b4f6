"""The shift-end coaching card: staff verdicts beside the latest shopper verdicts at the same location."""
from __future__ import annotations

from datetime import timedelta

import pytest

from auditapp.timeutil import utcnow
from auditapp.visits.coaching import coaching_card, compare


@pytest.mark.parametrize("staff, shoppers, group", [
    ("magical", ["magical", "magical", "neutral"], "well"),
    ("neutral", ["magical", "magical"], "well"),  # shoppers liked it more
    ("magical", ["miserable", "neutral"], "fix"),  # shoppers saw it worse
    ("neutral", ["miserable", "miserable"], "fix"),
    ("neutral", ["neutral", "neutral"], "agree"),
    ("miserable", ["miserable"], "agree"),
    ("miserable", ["neutral", "magical"], "well"),  # a mean of 0.75 counts as good
    ("neutral", ["neutral", "miserable"], "agree"),  # 0.25 below: not enough to call it worse
    ("magical", [], "unknown"),
])
def test_compare(staff, shoppers, group):
    assert compare(staff, shoppers).group == group


def test_compare_messages_are_encouraging():
    assert "Keep doing it" in compare("magical", ["magical"]).message
    assert "closer look" in compare("magical", ["miserable"]).message


@pytest.fixture
def world(make):
    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com")
    shopper = make.user(org, "shopper", email="sam@example.com")
    location = make.location(org, name="Harbour")
    elsewhere = make.location(org, name="Airport")
    staff = make.user(org, "staff", email="tess@example.com", location=location)
    colleague = make.user(org, "staff", email="noor@example.com", location=location)
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, shopper=shopper, location=location, elsewhere=elsewhere,
                                  staff=staff, colleague=colleague, journey=journey))


def verdicts(greeting, order, farewell):
    return {"greeting.verdict": greeting, "order.verdict": order, "farewell.verdict": farewell}


def shift(make, world, hours_ago: int, greeting, order, farewell, user=None, location=None, **kw):
    start = utcnow() - timedelta(hours=hours_ago)
    return make.evaluation(world.org, world.journey, location or world.location, user or world.shopper,
                           answers=verdicts(greeting, order, farewell), started_at=start, **kw)


def test_card_groups_and_counts_only_recent_counted_shopper_visits(world, make):
    for hours in range(10, 15):  # the five latest: greeting magical, order miserable, farewell neutral
        shift(make, world, hours, "magical", "miserable", "neutral")
    shift(make, world, 40, "miserable", "magical", "magical")  # older than the latest five
    shift(make, world, 5, "miserable", "magical", "magical", status="rejected")  # never counts
    shift(make, world, 5, "miserable", "magical", "magical", location=world.elsewhere)  # another location
    mine = shift(make, world, 1, "magical", "magical", "neutral", user=world.staff)
    card = coaching_card(mine)
    assert [r.key for r in card.well] == ["greeting"]
    assert [r.key for r in card.fix] == ["order"]
    assert [r.key for r in card.agree] == ["farewell"]
    order = card.fix[0]
    assert order.counts == {"miserable": 5, "neutral": 0, "magical": 0} and order.verdict == "magical"
    assert "went well" in card.headline


def test_page_for_the_staff_member_and_managers_only(world, make, client, auth):
    shift(make, world, 10, "magical", "miserable", "neutral")
    mine = shift(make, world, 1, "magical", "magical", "neutral", user=world.staff)
    shoppers = shift(make, world, 2, "magical", "magical", "neutral")
    auth.login("tess@example.com")
    page = client.get(f"/visits/coaching/{mine.id}").data.decode()
    assert "What went well" in page and "What to fix" in page and "Greeting at the door" in page
    assert "Shoppers saw it worse than you did" in page
    assert client.get(f"/visits/coaching/{shoppers.id}").status_code == 404  # not a self-assessment
    auth.logout()
    auth.login("noor@example.com")
    assert client.get(f"/visits/coaching/{mine.id}").status_code == 404  # a colleague's card is theirs
    auth.logout()
    auth.login("sam@example.com")
    assert client.get(f"/visits/coaching/{mine.id}").status_code == 403
    auth.logout()
    auth.login("boss@example.com")
    assert client.get(f"/visits/coaching/{mine.id}").status_code == 200
