"""`create-user` (contract section 7): members of any role, with a location manager's locations or a regional
manager's regions; changing the role of an existing member; every problem named, nothing stored on an error."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auditapp.auth.models import AuditLog, Membership, User
from auditapp.extensions import db
from auditapp.tenancy import scope_of

PASSWORD = "a long password"


@pytest.fixture
def chain(make):
    org = make.org(name="Chain", slug="chain")
    north = [make.location(org, code="N1", region="North"), make.location(org, code="N2", region="North")]
    south = make.location(org, code="S1", region="South")
    return org, north, south


def invoke(runner, *args, password: str | None = PASSWORD):
    extra = ["--password", password] if password else []
    return runner.invoke(args=["create-user", "--org", "chain", *args, *extra])


def membership(email: str) -> Membership:
    user = db.session.scalar(select(User).where(User.email == email))
    return user.memberships[0]


def test_a_location_manager_gets_the_locations_given_by_code(runner, chain):
    org, north, south = chain
    result = invoke(runner, "--email", "Site@Chain.example", "--role", "location_manager", "--locations", "N1,S1")
    assert result.exit_code == 0, result.output
    assert "Location manager site@chain.example in organisation chain: N1, S1." in result.output
    m = membership("site@chain.example")
    assert m.role == "location_manager" and m.place_location_ids == sorted([north[0].id, south.id])
    assert scope_of(m).location_ids == {north[0].id, south.id} and scope_of(m).regions == {"North", "South"}
    assert db.session.scalar(select(User).where(User.email == "site@chain.example")).check_password(PASSWORD)
    assert db.session.scalar(select(AuditLog.summary).where(AuditLog.action == "user.created")) == \
        "site@chain.example added as location_manager from the command line (N1, S1)"


def test_a_regional_manager_sees_every_location_of_the_regions(runner, chain):
    org, north, south = chain
    result = invoke(runner, "--email", "north@chain.example", "--role", "regional_manager", "--regions", "North")
    assert result.exit_code == 0, result.output
    m = membership("north@chain.example")
    assert m.region_names == ["North"] and scope_of(m).location_ids == {loc.id for loc in north}


def test_changing_the_role_of_a_member_keeps_the_account_and_replaces_the_places(runner, chain):
    invoke(runner, "--email", "pat@chain.example", "--role", "location_manager", "--locations", "N1")
    result = invoke(runner, "--email", "pat@chain.example", "--role", "regional_manager", "--regions", "South",
                    password=None)
    assert result.exit_code == 0, result.output
    m = membership("pat@chain.example")
    assert (m.role, m.place_location_ids, m.region_names) == ("regional_manager", [], ["South"])
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert "location_manager -> regional_manager" in db.session.scalar(
        select(AuditLog.summary).where(AuditLog.action == "user.role_changed"))
    result = invoke(runner, "--email", "pat@chain.example", "--role", "manager", password=None)
    assert result.exit_code == 0 and membership("pat@chain.example").region_names == []


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "location_manager"], "a location manager needs at least one location"),
    (["--role", "location_manager", "--locations", "N1,XX9"], "no location with code XX9 in chain"),
    (["--role", "regional_manager"], "a regional manager needs at least one region"),
    (["--role", "regional_manager", "--regions", "Atlantis"], "no location is in the region Atlantis"),
    (["--role", "staff", "--locations", "N1,N2"], "staff belong to one location"),
    (["--role", "wizard"], "Invalid value for '--role'"),
])
def test_bad_places_are_named_and_nothing_is_stored(runner, chain, args, message):
    result = invoke(runner, "--email", "x@chain.example", *args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_an_unknown_organisation_and_a_short_password(runner, chain):
    result = runner.invoke(args=["create-user", "--org", "nope", "--email", "a@b.example", "--role", "shopper",
                                 "--password", PASSWORD])
    assert result.exit_code != 0 and "no organisation with slug 'nope'" in result.output
    result = invoke(runner, "--email", "a@chain.example", "--role", "shopper", password="short")
    assert result.exit_code != 0 and "10 characters" in result.output


def test_staff_get_their_one_location_and_a_prompted_password(runner, chain):
    org, north, _ = chain
    result = runner.invoke(args=["create-user", "--org", "chain", "--email", "tess@chain.example", "--role", "staff",
                                 "--locations", "N2"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert membership("tess@chain.example").location_id == north[1].id
