"""The upload kept between the two import steps (auditapp.journeys.pending) and journey name matching; no app."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from auditapp.journeys import pending
from auditapp.journeys.library import get_library_journey
from auditapp.journeys.spec import (
    JourneySpec,
    MomentSpec,
    OptionSpec,
    QuestionSpec,
    normalise_journey_name,
    spec_from_dict,
    spec_to_dict,
)

SECRET = "unit-test-secret"


def spec() -> JourneySpec:
    return JourneySpec(name="Café <order>", description="=SUM(A1)", moments=[
        MomentSpec(key="order", name="Ordering", channel="face_to_face", kind=None, priority=True, weight=2.5,
                   expected_seconds=None, description="", questions=[
                       QuestionSpec(key="speed", text="How quick?", type="choice",
                                    options=(OptionSpec("Quick", 1.0), OptionSpec("Did not notice", None))),
                       QuestionSpec(key="wait", text="Seconds", type="number", target="<=120", critical=True,
                                    required=True, weight=0.5, help="Count"),
                   ]),
    ])


@pytest.mark.parametrize("journey", [spec(), get_library_journey("airline-trip")], ids=["small", "library"])
def test_spec_survives_the_round_trip_through_plain_data(journey):
    assert spec_from_dict(spec_to_dict(journey)) == journey


def seal(journey=None, **kw):
    args = dict(user_id=7, org_id=3, published_numbers={11: 2, 12: None}, secret_key=SECRET)
    args.update(kw)
    return pending.seal(journey or spec(), "cafe.xlsx", **args)


def test_sealed_upload_opens_for_its_user_and_organisation():
    waiting = pending.unseal(seal(), user_id=7, org_id=3, secret_key=SECRET)
    assert waiting.spec == spec() and waiting.filename == "cafe.xlsx"
    assert waiting.published_numbers == {11: 2, 12: None}


@pytest.mark.parametrize("user_id, org_id", [(8, 3), (7, 4), (8, 4)])
def test_another_user_or_organisation_cannot_open_it(user_id, org_id):
    with pytest.raises(pending.PendingImportError, match="another account or in another organisation"):
        pending.unseal(seal(), user_id=user_id, org_id=org_id, secret_key=SECRET)


@pytest.mark.parametrize("token", [
    lambda t: t.replace(".", ".x", 1), lambda t: t[:-3], lambda t: "", lambda t: "not a token",
])
def test_a_changed_token_is_refused(token):
    with pytest.raises(pending.PendingImportError, match="could not be read"):
        pending.unseal(token(seal()), user_id=7, org_id=3, secret_key=SECRET)


def test_another_secret_key_cannot_open_it():
    with pytest.raises(pending.PendingImportError, match="could not be read"):
        pending.unseal(seal(), user_id=7, org_id=3, secret_key="another-secret")


def test_it_expires():
    start = datetime(2031, 5, 4, 12, 0)
    with time_machine.travel(start, tick=False):
        token = seal()
    with time_machine.travel(start + timedelta(seconds=pending.MAX_AGE - 1), tick=False):
        assert pending.unseal(token, user_id=7, org_id=3, secret_key=SECRET).filename == "cafe.xlsx"
    with (time_machine.travel(start + timedelta(seconds=pending.MAX_AGE + 1), tick=False),
          pytest.raises(pending.PendingImportError, match="more than 60 minutes old and has expired")):
        pending.unseal(token, user_id=7, org_id=3, secret_key=SECRET)
    with (time_machine.travel(start + timedelta(minutes=10), tick=False),
          pytest.raises(pending.PendingImportError, match="more than 5 minutes old")):
        pending.unseal(token, user_id=7, org_id=3, secret_key=SECRET, max_age=300)


def test_the_token_is_compact_for_a_real_journey():
    # carried in a hidden field: the parsed journey, compressed, not the .xlsx
    assert len(seal(get_library_journey("dentist-visit"))) < 8000


def test_a_journey_too_big_to_carry_is_refused(monkeypatch):
    monkeypatch.setattr(pending, "MAX_TOKEN_LENGTH", 100)
    with pytest.raises(pending.PendingImportError, match="too big"):
        seal()


@pytest.mark.parametrize("a, b, same", [
    ("Dentist visit", "dentist VISIT", True),
    ("  Dentist   visit ", "Dentist visit", True),
    ("Dentist\u00a0visit", "Dentist visit", True),  # a no-break space from a spreadsheet is a space
    ("Cafe\u0301", "Café", True),  # combining accent or not
    ("STRASSE", "straße", True),
    ("Dentist visit", "Dentist visits", False),
    ("Dentist-visit", "Dentist visit", False),
])
def test_names_compare_ignoring_case_and_spaces(a, b, same):
    assert (normalise_journey_name(a) == normalise_journey_name(b)) is same


def test_a_confirmation_token_carries_its_step_draft_and_left_out_parts():
    token = seal(purpose=pending.CONFIRM, draft_of=5, left_out=("survey, row 8: repeat 'dishes': not supported",))
    waiting = pending.unseal(token, user_id=7, org_id=3, secret_key=SECRET, purpose=pending.CONFIRM)
    assert (waiting.purpose, waiting.draft_of) == (pending.CONFIRM, 5)
    assert waiting.left_out == ("survey, row 8: repeat 'dishes': not supported",) and waiting.spec == spec()


@pytest.mark.parametrize(("made_for", "used_for"), [(pending.CONFIRM, pending.CHOOSE), (pending.CHOOSE, pending.CONFIRM)])
def test_a_token_of_one_step_cannot_be_used_at_the_other(made_for, used_for):
    with pytest.raises(pending.PendingImportError, match="another step"):
        pending.unseal(seal(purpose=made_for), user_id=7, org_id=3, secret_key=SECRET, purpose=used_for)
