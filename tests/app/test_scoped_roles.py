"""Location and regional managers: invited and edited with their places on the users page, and what their pages
and files show (their places only, approved shopper visits, the shopper not named)."""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from auditapp.auth.models import Invite, Membership, User
from auditapp.extensions import db
from auditapp.visits.review import approve


@pytest.fixture
def chain(make, auth):
    org = make.org(name="Chain", slug="chain")
    north = make.location(org, code="N1", name="North One", region="North")
    south = make.location(org, code="S1", name="South One", region="South")
    admin = make.user(org, "admin", email="admin@chain.example")
    manager = make.user(org, "manager", email="boss@chain.example")
    shopper = make.user(org, "shopper", name="Sheila Shopper", email="sheila@chain.example")
    journey = make.journey(org)
    return {"org": org, "north": north, "south": south, "admin": admin, "manager": manager, "shopper": shopper,
            "journey": journey}


def test_an_admin_invites_a_location_manager_with_their_locations(client, auth, chain):
    auth.login("admin@chain.example")
    missing = client.post("/admin/users", data={"email": "site@chain.example", "role": "location_manager"})
    assert "A location manager needs at least one location." in missing.get_data(as_text=True)
    assert Invite.query.count() == 0
    page = client.post("/admin/users", data={"email": "site@chain.example", "role": "location_manager",
                                             "place_ids": [str(chain["north"].id)]}).get_data(as_text=True)
    token = re.search(r'value="http://localhost/invite/([^"]+)"', page).group(1)
    auth.logout()
    client.post(f"/invite/{token}", data={"name": "Sid Site", "password": "long enough pw", "confirm": "long enough pw"})
    user = db.session.scalar(select(User).where(User.email == "site@chain.example"))
    membership = user.memberships[0]
    assert membership.role == "location_manager" and membership.place_location_ids == [chain["north"].id]


def test_an_admin_gives_a_member_regions_and_a_bad_region_changes_nothing(client, auth, chain, make):
    member = make.user(chain["org"], "manager", email="rita@chain.example")
    membership = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
    auth.login("admin@chain.example")
    url = f"/admin/users/{membership.id}/role"
    bad = client.post(url, data={"role": "regional_manager", "regions": ["Atlantis"]}, follow_redirects=True)
    assert "no location is in the region Atlantis" in bad.get_data(as_text=True)
    db.session.refresh(membership)
    assert membership.role == "manager"
    client.post(url, data={"role": "regional_manager", "regions": ["South"]})
    db.session.refresh(membership)
    assert membership.role == "regional_manager" and membership.region_names == ["South"]


def test_their_dashboard_drill_down_and_workbook_show_their_place_only(client, auth, chain, make):
    visits = []
    for location, when in ((chain["north"], datetime(2026, 1, 10, 9)), (chain["south"], datetime(2026, 1, 11, 9))):
        evaluation = make.evaluation(chain["org"], chain["journey"], location, chain["shopper"], started_at=when,
                                     notes=f"Visit at {location.code}")
        approve(evaluation, chain["manager"])
        visits.append(evaluation)
    db.session.commit()
    make.user(chain["org"], "location_manager", email="site@chain.example", places=[chain["north"]])
    auth.login("site@chain.example")
    journey = chain["journey"]
    page = client.get(f"/results/journeys/{journey.id}?period=all").get_data(as_text=True)
    assert "North One" in page and "South One" not in page
    assert 'name="source"' not in page and "Approved only" in page  # fixed for them, and stated
    assert "Shoppers vs staff" not in page
    drill = client.get(f"/results/journeys/{journey.id}/evaluations?period=all").get_data(as_text=True)
    assert f"/sites/visits/{visits[0].id}" in drill and "/visits/review/" not in drill
    assert "Visit at S1" not in drill
    data = client.get(f"/exports/scorecard.xlsx?journey_id={journey.id}").data
    workbook = load_workbook(io.BytesIO(data))
    text = " ".join(str(c.value) for ws in workbook for row in ws.iter_rows() for c in row if c.value is not None)
    assert "Sheila" not in text and "South One" not in text and "Secret shopper" in text
    assert client.get(f"/sites/visits/{visits[1].id}").status_code == 404
    assert client.get("/visits/review").status_code == 403
