"""Importing a journey workbook whose name is taken: the manager chooses a new version or a copy; never a silent
second journey. Through the builder's two-step page and through `import-journey --if-exists`."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from auditapp.auth.models import AuditLog
from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.journeys import services, versioning
from auditapp.journeys.models import Journey, JourneyVersion, Moment, Question
from auditapp.journeys.workbook import write_journey_workbook
from tests.factories import sample_spec


@pytest.fixture
def org(make):
    return make.org(slug="acme")


@pytest.fixture
def existing(make, org):
    """'Café order', published version 1 with one evaluation."""
    journey = make.journey(org)
    shopper = make.user(org, "shopper")
    make.evaluation(org, journey, make.location(org), shopper)
    return journey


@pytest.fixture
def manager(org, make, auth):
    user = make.user(org, "manager", email="m@example.com", name="Mia Manager")
    auth.login("m@example.com")
    return user


def revised(name: str = "Café order"):
    """The sample journey with a renamed moment, a new question and a new description."""
    spec = sample_spec(name)
    spec.description = "Revised checklist"
    spec.moments[0].name = "Welcome at the door"
    from auditapp.journeys.spec import QuestionSpec

    spec.moments[0].questions.append(QuestionSpec(key="badge", text="Name badge visible?", type="yes_no"))
    return spec


def upload(client, spec, filename: str = "revised.xlsx"):
    return client.post("/journeys/import", data={"workbook": (io.BytesIO(write_journey_workbook(spec)), filename)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str:
    match = re.search(r'name="upload" type="hidden" value="([^"]+)"', page)
    assert match, "no upload token on the page"
    return match.group(1)


def choose(client, token: str, **data):
    return client.post("/journeys/import/choose", data={"upload": token, **data})


def state() -> tuple:
    """Everything an import could change, to check that a refused one changed nothing."""
    db.session.expire_all()
    journeys = tuple(db.session.execute(select(Journey.id, Journey.name, Journey.description, Journey.archived,
                                               Journey.current_version_id).order_by(Journey.id)))
    versions = tuple(db.session.execute(select(JourneyVersion.id, JourneyVersion.status).order_by(JourneyVersion.id)))
    counts = (db.session.scalar(select(func.count()).select_from(Moment)),
              db.session.scalar(select(func.count()).select_from(Question)))
    logs = tuple(db.session.scalars(select(AuditLog.action).where(AuditLog.action.in_(
        ("journey.import", "version.import", "version.publish", "version.draft"))).order_by(AuditLog.id)))
    return journeys, versions, counts, logs


def flashes(client) -> str:
    return client.get("/journeys/").get_data(as_text=True)


# --------------------------------------------------------------------------------------------------- name match


@pytest.mark.parametrize("name, matches", [
    ("Café order", True), ("café ORDER", True), ("  Café    order ", True), ("CAFÉ\tORDER", True),
    ("Café orders", False), ("Cafe order", False), ("Café", False),
])
def test_names_match_ignoring_case_and_spaces(make, org, name, matches):
    journey = make.journey(org)
    other_org = make.org()
    make.journey(other_org)  # same name elsewhere never counts
    assert [j.id for j in services.journeys_named(org.id, name)] == ([journey.id] if matches else [])


def test_archived_journeys_count_and_free_names_skip_every_taken_one(make, org):
    first = make.journey(org)
    services.set_archived(first, True)
    make.journey(org, name="café order (2)")
    db.session.commit()
    assert [j.id for j in services.journeys_named(org.id, "CAFÉ ORDER")] == [first.id]
    assert services.free_copy_name(org.id, "Café  order") == "Café order (3)"
    assert services.free_copy_name(org.id, "Café order (2)") == "Café order (3)"
    assert len(services.free_copy_name(org.id, "x" * 200)) == 200


# --------------------------------------------------------------------------------------------------- UI


def test_taken_name_shows_the_choice_and_imports_nothing(client, existing, manager):
    before = state()
    response = upload(client, revised("  café   ORDER "))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "exists already" in page and "Nothing has been imported yet" in page
    assert "Make it version 2 of <strong>Café order</strong>" in page
    assert "its evaluations and history are kept" in page
    assert "results of all versions join by moment and question keys" in page
    assert "Import as a copy" in page and 'value="café ORDER (2)"' in page  # a free name, prefilled
    assert "1 evaluation" in page and "archived journeys count" in page
    assert state() == before


def test_new_version_keeps_history_and_old_evaluations(client, existing, manager):
    v1 = existing.current_version
    evaluation = db.session.scalar(select(Evaluation))
    v1_moments = [(m.key, m.name, [q.key for q in m.questions]) for m in v1.moments]
    page = upload(client, revised("CAFÉ ORDER"), filename="cafe-v2.xlsx").get_data(as_text=True)
    response = choose(client, token_of(page), choice="new_version")
    assert response.status_code == 302 and response.location.endswith(f"/journeys/{existing.id}")

    db.session.expire_all()
    journey = db.session.get(Journey, existing.id)
    assert Journey.query.count() == 1
    assert journey.name == "Café order"  # the journey keeps its name; the workbook's description is taken
    assert journey.description == "Revised checklist"
    assert [v.number for v in journey.versions] == [1, 2]
    v2 = journey.current_version
    assert v2.number == 2 and v2.status == "published" and v2.created_by_id == manager.id
    assert db.session.get(JourneyVersion, v1.id).status == "retired"
    assert v2.moments[0].name == "Welcome at the door"
    assert [q.key for q in v2.moments[0].questions] == ["greeted", "smile", "badge", "verdict"]
    # version 1 and the evaluation that answered it are as they were
    v1 = db.session.get(JourneyVersion, v1.id)
    assert [(m.key, m.name, [q.key for q in m.questions]) for m in v1.moments] == v1_moments
    assert db.session.get(Evaluation, evaluation.id).version_id == v1.id
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "version.import")).one()
    assert entry.user_id == manager.id and entry.object_id == journey.id
    assert "Version 2 of 'Café order' imported from cafe-v2.xlsx" in entry.summary and "version 1 retired" in entry.summary
    assert entry.detail["version"] == 2 and entry.detail["retired"] == 1
    assert AuditLog.query.filter_by(action="journey.import").count() == 0
    assert "Version 2 of &#39;Café order&#39; published from the workbook" in flashes(client)


def test_new_version_of_an_archived_journey_says_it_stays_archived(client, existing, manager):
    services.set_archived(existing, True)
    db.session.commit()
    page = upload(client, revised()).get_data(as_text=True)
    assert "it stays archived until you restore it" in page
    choose(client, token_of(page), choice="new_version")
    journey = db.session.get(Journey, existing.id)
    db.session.refresh(journey)
    assert journey.archived and journey.current_version.number == 2
    assert "The journey is archived: restore it" in flashes(client)


def test_copy_makes_a_second_journey_and_leaves_the_first_alone(client, existing, manager):
    before_versions = [(v.id, v.status) for v in existing.versions]
    page = upload(client, revised(), filename="copy.xlsx").get_data(as_text=True)
    response = choose(client, token_of(page), choice="copy", copy_name="  Café order,   airport ")
    copy = Journey.query.filter(Journey.id != existing.id).one()
    assert response.status_code == 302 and response.location.endswith(f"/journeys/{copy.id}")
    assert copy.name == "Café order, airport" and copy.current_version.status == "published"
    assert copy.current_version.moments[0].name == "Welcome at the door"
    db.session.expire_all()
    assert [(v.id, v.status) for v in db.session.get(Journey, existing.id).versions] == before_versions
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "journey.import")).one()
    assert entry.object_id == copy.id and entry.user_id == manager.id
    assert "as a copy" in entry.summary and "copy.xlsx" in entry.summary
    assert entry.detail["workbook_name"] == "Café order"


@pytest.mark.parametrize("typed, message", [
    ("  CAFÉ   order ", "A journey named &#39;Café order&#39; already exists (id {id})"),
    ("Old café", "A journey named &#39;Old café&#39; already exists (id {old}, archived)"),
    ("   ", "Give the copy a name: it cannot be empty."),
    ("x" * 201, "The name is too long (201 characters; at most 200)."),
])
def test_copy_name_taken_or_empty_is_refused_next_to_the_field_with_the_text_kept(client, make, org, existing, manager,
                                                                                   typed, message):
    old = make.journey(org, name="Old café")
    services.set_archived(old, True)
    db.session.commit()
    page = upload(client, revised()).get_data(as_text=True)
    token = token_of(page)
    before = state()
    response = choose(client, token, choice="copy", copy_name=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="copy_name-error">(.*?)</p>', page, re.S)
    assert error and message.format(id=existing.id, old=old.id) in error.group(1)
    assert f'value="{typed}"' in page  # what was typed is kept
    assert token_of(page) == token  # and the workbook with it: no re-upload
    assert state() == before


def test_a_choice_must_be_made(client, existing, manager):
    page = upload(client, revised()).get_data(as_text=True)
    before = state()
    page = choose(client, token_of(page), copy_name="Whatever").get_data(as_text=True)
    assert 'id="choice-error"' in page and "Choose one: a new version of the existing journey, or a copy" in page
    assert state() == before


def test_several_same_named_journeys_the_manager_picks_which(client, make, org, existing, manager):
    second = make.journey(org, name="café order")
    third = make.journey(org, name="Café  Order")
    services.set_archived(third, True)
    db.session.commit()
    page = upload(client, revised()).get_data(as_text=True)
    assert "one of the 3 journeys named" in page
    for journey in (existing, second, third):
        assert f'name="journey_id" type="radio" value="{journey.id}"' in page
        assert f"(id {journey.id})" in page
    token = token_of(page)
    other_org_journey = make.journey(make.org())
    before = state()
    page = choose(client, token, choice="new_version").get_data(as_text=True)
    assert "Pick which of the 3 journeys named" in page and state() == before
    page = choose(client, token, choice="new_version", journey_id=str(other_org_journey.id)).get_data(as_text=True)
    assert "Pick which of the 3 journeys named" in page and state() == before

    assert choose(client, token, choice="new_version", journey_id=str(second.id)).status_code == 302
    db.session.expire_all()
    assert db.session.get(Journey, second.id).current_version.number == 2
    assert db.session.get(Journey, existing.id).current_version.number == 1
    assert db.session.get(Journey, third.id).current_version.number == 1


def test_a_draft_in_the_way_is_named_and_nothing_is_discarded(client, make, org, existing, manager):
    colleague = make.user(org, "manager", name="Colin Colleague")
    draft = versioning.clone_version(existing, existing.current_version, user_id=colleague.id)
    draft.moments[0].name = "Colin's unpublished wording"
    db.session.commit()
    page = upload(client, revised()).get_data(as_text=True)
    assert "It has an unpublished draft (version 2, started by Colin Colleague)" in page
    before = state()
    response = choose(client, token_of(page), choice="new_version")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="journey_id-error">(.*?)</p>', page, re.S).group(1)
    assert "has an unpublished draft (version 2, started by Colin Colleague)" in error
    assert "Publish or discard that draft first" in error
    assert state() == before
    db.session.expire_all()
    assert versioning.draft_version(db.session.get(Journey, existing.id)).moments[0].name == "Colin's unpublished wording"
    # the copy is still possible from the same page
    assert choose(client, token_of(page), choice="copy", copy_name="Café order (2)").status_code == 302


def test_sending_the_new_version_twice_makes_one_version(client, existing, manager):
    token = token_of(upload(client, revised()).get_data(as_text=True))
    assert choose(client, token, choice="new_version").status_code == 302
    page = choose(client, token, choice="new_version").get_data(as_text=True)
    assert "changed after you uploaded this workbook: version 2 is published now" in page
    db.session.expire_all()
    assert [v.number for v in db.session.get(Journey, existing.id).versions] == [1, 2]


# --------------------------------------------------------------------------------------------------- the token


def test_the_upload_expires_after_an_hour(client, existing, manager, auth):
    start = datetime(2031, 3, 2, 9, 0)
    with time_machine.travel(start, tick=False):
        auth.login("m@example.com")  # a session cookie signed in the same frozen time
        token = token_of(upload(client, revised()).get_data(as_text=True))
    before = state()
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        response = choose(client, token, choice="copy", copy_name="Late copy")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This upload is more than 60 minutes old and has expired: nothing was imported. Upload the workbook again." in page
    assert 'type="file"' in page  # the upload form, to start again
    assert state() == before
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert choose(client, token, choice="copy", copy_name="In time").status_code == 302


def test_another_manager_cannot_use_the_upload(client, make, org, existing, manager, auth):
    token = token_of(upload(client, revised()).get_data(as_text=True))
    make.user(org, "manager", email="other@example.com")
    auth.logout()
    auth.login("other@example.com")
    before = state()
    response = choose(client, token, choice="copy", copy_name="Not mine")
    assert response.status_code == 400
    assert "made by another account or in another organisation" in response.get_data(as_text=True)
    assert state() == before


def test_the_upload_does_not_cross_to_another_organisation(client, make, org, existing, manager):
    token = token_of(upload(client, revised()).get_data(as_text=True))
    second = make.org()
    make.user(second, "manager", email="m@example.com")  # the same account, manager in both
    with client.session_transaction() as session:
        session["org_id"] = second.id
    before = state()
    response = choose(client, token, choice="copy", copy_name="Wrong org")
    assert response.status_code == 400
    assert "made by another account or in another organisation" in response.get_data(as_text=True)
    assert state() == before


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "", lambda t: "x.y.z"])
def test_a_changed_or_missing_upload_is_refused(client, existing, manager, mangle):
    token = token_of(upload(client, revised()).get_data(as_text=True))
    before = state()
    response = choose(client, mangle(token), choice="copy", copy_name="Forged")
    assert response.status_code == 400 and "could not be read" in response.get_data(as_text=True)
    assert state() == before


def test_shoppers_cannot_reach_the_choice(client, make, org, existing, manager, auth):
    token = token_of(upload(client, revised()).get_data(as_text=True))
    make.user(org, "shopper", email="s@example.com")
    auth.logout()
    auth.login("s@example.com")
    assert choose(client, token, choice="copy", copy_name="Nope").status_code in (302, 403, 404)
    assert Journey.query.count() == 1


# --------------------------------------------------------------------------------------------------- CLI


def _write(tmp_path, spec, name: str = "journey.xlsx"):
    path = tmp_path / name
    path.write_bytes(write_journey_workbook(spec))
    return path


def cli(runner, *args):
    return runner.invoke(args=["import-journey", "--org", "acme", *map(str, args)])


def test_cli_taken_name_fails_by_default_naming_the_journey_and_the_flags(runner, existing, tmp_path):
    before = state()
    result = cli(runner, _write(tmp_path, revised("CAFÉ order")))
    assert result.exit_code == 1
    assert f"a journey named 'Café order' (id {existing.id}) already exists in acme" in result.output
    assert "--if-exists new-version" in result.output and "version 2 of it" in result.output
    assert "--if-exists copy [--copy-name NAME]" in result.output and "'CAFÉ order (2)'" in result.output
    assert state() == before


def test_cli_fail_names_archived_journeys_too(runner, existing, tmp_path):
    services.set_archived(existing, True)
    db.session.commit()
    result = cli(runner, "--if-exists", "fail", _write(tmp_path, revised()))
    assert result.exit_code == 1 and f"(id {existing.id}, archived)" in result.output


def test_cli_new_version_prints_the_existing_id_last(runner, existing, tmp_path):
    result = cli(runner, "--if-exists", "new-version", _write(tmp_path, revised(), "v2.xlsx"))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(existing.id)
    assert "as version 2 of journey" in result.output
    db.session.expire_all()
    journey = db.session.get(Journey, existing.id)
    assert journey.current_version.number == 2 and journey.versions[0].status == "retired"
    assert journey.current_version.moments[0].name == "Welcome at the door"
    assert db.session.scalar(select(Evaluation)).version_id == journey.versions[0].id
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "version.import")).one()
    assert entry.user_id is None and entry.org_id == existing.org_id and "v2.xlsx" in entry.summary


def test_cli_new_version_refuses_past_a_draft(runner, make, org, existing, tmp_path):
    versioning.clone_version(existing, existing.current_version, user_id=make.user(org, "manager", name="Dee").id)
    db.session.commit()
    before = state()
    result = cli(runner, "--if-exists", "new-version", _write(tmp_path, revised()))
    assert result.exit_code == 1
    assert "has an unpublished draft (version 2, started by Dee)" in result.output
    assert f"journey id {existing.id}" in result.output
    assert state() == before


def test_cli_copy_takes_a_free_name_or_the_one_given(runner, existing, tmp_path):
    path = _write(tmp_path, revised())
    result = cli(runner, "--if-exists", "copy", path)
    assert result.exit_code == 0, result.output
    first = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    assert first.name == "Café order (2)" and first.id != existing.id
    result = cli(runner, "--if-exists", "copy", "--copy-name", "  Café   airport ", path)
    assert result.exit_code == 0, result.output
    second = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    assert second.name == "Café airport"
    assert db.session.get(Journey, existing.id).current_version.number == 1


@pytest.mark.parametrize("copy_name, message", [
    ("café ORDER", "already exists (id"), ("", "cannot be empty"),
])
def test_cli_copy_name_taken_or_empty_imports_nothing(runner, existing, tmp_path, copy_name, message):
    before = state()
    result = cli(runner, "--if-exists", "copy", "--copy-name", copy_name, _write(tmp_path, revised()))
    assert result.exit_code == 1 and "--copy-name" in result.output and message in result.output
    assert state() == before


def test_cli_several_same_named_journeys_need_journey_id(runner, make, org, existing, tmp_path):
    second = make.journey(org, name="CAFÉ ORDER")
    path = _write(tmp_path, revised())
    before = state()
    result = cli(runner, "--if-exists", "new-version", path)
    assert result.exit_code == 1
    assert f"2 journeys named 'Café order' (id {existing.id}; id {second.id})" in result.output
    assert "--journey ID" in result.output
    result = cli(runner, "--if-exists", "new-version", "--journey", 99999, path)
    assert result.exit_code == 1 and "is not one of the journeys named" in result.output
    assert state() == before
    result = cli(runner, "--if-exists", "new-version", "--journey", second.id, path)
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1] == str(second.id)
    db.session.expire_all()
    assert db.session.get(Journey, second.id).current_version.number == 2
    assert db.session.get(Journey, existing.id).current_version.number == 1


def test_cli_flags_that_do_not_go_together(runner, existing, tmp_path):
    path = _write(tmp_path, revised())
    result = cli(runner, "--copy-name", "X", path)
    assert result.exit_code == 2 and "--copy-name goes with --if-exists copy" in result.output
    result = cli(runner, "--if-exists", "copy", "--journey", existing.id, path)
    assert result.exit_code == 2 and "--journey goes with --if-exists new-version" in result.output
    result = cli(runner, "--if-exists", "sometimes", path)
    assert result.exit_code == 2
    assert Journey.query.count() == 1


@pytest.mark.parametrize("flag", ["fail", "new-version", "copy"])
def test_cli_a_new_name_imports_as_before_whatever_the_flag(runner, existing, tmp_path, flag):
    result = cli(runner, "--if-exists", flag, _write(tmp_path, revised("Tea order")))
    assert result.exit_code == 0, result.output
    journey = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    assert journey.id != existing.id and journey.name == "Tea order" and journey.current_version.number == 1


def test_cli_bad_workbook_with_a_flag_still_lists_problems(runner, existing, tmp_path):
    spec = revised()
    spec.moments[1].channel = "by_pigeon"
    before = state()
    result = cli(runner, "--if-exists", "new-version", _write(tmp_path, spec))
    assert result.exit_code != 0 and "unknown channel 'by_pigeon'" in result.output
    assert state() == before
