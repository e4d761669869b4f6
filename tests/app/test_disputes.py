"""Disputes: a site's manager queries one answer of an approved visit within the window, the reviewer accepts (the
answer changes, the scores are recomputed, the history keeps both) or declines it; pages, API, access, evidence,
mail (a real SMTP server), the query rate on the dashboard and in the workbook, and the window setting."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import event, func, select

from auditapp.auth.models import AuditLog
from auditapp.disputes.models import Dispute, DisputeMessage
from auditapp.disputes.services import query_rates
from auditapp.evaluations.models import Answer, Evaluation, EvaluationEvent, MomentResult
from auditapp.evaluations.services import submit_evaluation
from auditapp.extensions import db
from auditapp.results.queries import Filters
from auditapp.visits.review import approve

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def chain(make):
    org = make.org(name="Chain", slug="chain", timezone="Europe/Stockholm")
    north = make.location(org, code="N1", name="North One", region="North")
    south = make.location(org, code="S1", name="South One", region="South")
    people = {
        "admin": make.user(org, "admin", email="admin@chain.example", name="Ada Admin"),
        "manager": make.user(org, "manager", email="boss@chain.example", name="Bo Boss"),
        "shopper": make.user(org, "shopper", email="sheila@chain.example", name="Sheila Shopper"),
        "staff": make.user(org, "staff", email="staff@chain.example", location=north),
        "site": make.user(org, "location_manager", email="site@chain.example", name="Sid Site", places=[north]),
        "south_site": make.user(org, "location_manager", email="south@chain.example", places=[south]),
        "region": make.user(org, "regional_manager", email="region@chain.example", name="Rita Region",
                            regions=["North"]),
    }
    journey = make.journey(org)
    return {"org": org, "north": north, "south": south, "journey": journey, **people}


def _approved(make, chain, location=None, **answers):
    evaluation = make.evaluation(chain["org"], chain["journey"], location or chain["north"], chain["shopper"],
                                 answers={"order.clean": "no", "greeting.smile": 3, **answers})
    approve(evaluation, chain["manager"])
    db.session.commit()
    return evaluation


def _login(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": "correct horse battery"})
    assert response.status_code == 302


def _token(make, user) -> dict:
    return {"Authorization": f"Bearer {make.token(user)}"}


def _jpeg_with_gps(size=(3000, 2000)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[2] = (59.0, 19.0, 48.0)  # latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _same_visit_answered(make, chain, evaluation, **answers) -> Evaluation:
    """The visit as if the shopper had sent the corrected answer: the scores a dispute must arrive at."""
    twin = make.evaluation(chain["org"], chain["journey"], evaluation.location, chain["shopper"],
                           answers={"order.clean": "no", "greeting.smile": 3, **answers})
    return twin


# --- the whole loop on the pages -------------------------------------------------------------------------------------


def test_a_site_manager_disputes_an_answer_and_the_reviewer_accepts_it(app, client, make, chain, smtp_server):
    evaluation = _approved(make, chain)
    before = evaluation.score
    _login(client, "site@chain.example")
    visit = client.get(f"/sites/visits/{evaluation.id}").get_data(as_text=True)
    assert "Dispute an answer" in visit and f"/disputes/new/{evaluation.id}" in visit
    form = client.get(f"/disputes/new/{evaluation.id}").get_data(as_text=True)
    assert 'value="order.clean"' in form and "Counter clean and tidy? (answered: No)" in form
    response = client.post(f"/disputes/new/{evaluation.id}", data={
        "answer": "order.clean", "reason": "The counter was wiped at 10:02, see the cleaning log",
        "evidence": (io.BytesIO(PDF), "cleaning-log.pdf", "application/pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    dispute = db.session.scalar(select(Dispute))
    assert response.location.endswith(f"/disputes/{dispute.id}")
    assert (dispute.status, dispute.moment_key, dispute.question_key, dispute.value_before) == \
        ("open", "order", "clean", "no")
    assert dispute.evidence_kind == "pdf" and dispute.evidence_name == "cleaning-log.pdf"
    # The reviewers hear of it (the opener does not), with a link to the dispute.
    assert smtp_server.to_addresses() == ["admin@chain.example", "boss@chain.example"]
    assert f"http://localhost/disputes/{dispute.id}" in smtp_server.received[0].body
    assert "The counter was wiped at 10:02" in smtp_server.received[0].body

    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "Sid Site" in page and "The counter was wiped" in page and "cleaning-log.pdf" in page
    assert "Sheila" not in page  # the shopper is never named on the sites' side
    assert f'action="/disputes/{dispute.id}/decision"' not in page  # the site cannot decide
    client.post(f"/disputes/{dispute.id}/messages", data={"body": "The log is signed by the shift lead."})
    client.post("/logout")

    _login(client, "boss@chain.example")
    listed = client.get("/disputes/").get_data(as_text=True)
    assert f"/disputes/{dispute.id}" in listed and "Counter clean and tidy?" in listed
    assert "1 open dispute to decide" in client.get("/visits/review").get_data(as_text=True)
    assert f"/disputes/{dispute.id}" in client.get(f"/visits/review/{evaluation.id}").get_data(as_text=True)
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "The log is signed by the shift lead." in page and 'name="decision"' in page
    response = client.post(f"/disputes/{dispute.id}/decision",
                           data={"decision": "accepted", "value": "yes", "reason": "The log shows it was clean"})
    assert response.status_code == 302

    db.session.expire_all()
    evaluation = db.session.get(Evaluation, evaluation.id)
    twin = _same_visit_answered(make, chain, evaluation, **{"order.clean": "yes"})
    assert evaluation.score == pytest.approx(twin.score) and evaluation.score > before
    assert evaluation.remembered_score == pytest.approx(twin.remembered_score)
    order = db.session.scalar(select(MomentResult).where(MomentResult.evaluation_id == evaluation.id,
                                                         MomentResult.moment_key == "order"))
    twin_order = next(r for r in twin.moment_results if r.moment_key == "order")
    assert order.score == pytest.approx(twin_order.score) and order.critical_fail is False
    answer = db.session.scalar(select(Answer).where(Answer.evaluation_id == evaluation.id,
                                                    Answer.question_key == "clean"))
    assert (answer.value, answer.score) == ("yes", 1.0)
    history = db.session.scalar(select(EvaluationEvent).where(EvaluationEvent.action == "dispute_accepted"))
    changed = {c["field"]: (c["old"], c["new"]) for c in history.changes}
    assert changed["order.clean"] == ("no", "yes")
    assert changed["order.critical_fail"] == (True, False)
    assert changed["score"] == (pytest.approx(before), pytest.approx(evaluation.score))
    assert history.comment == "The log shows it was clean"
    assert "Dispute accepted" in client.get(f"/visits/review/{evaluation.id}").get_data(as_text=True)
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "dispute")))
    assert actions == {"dispute.opened", "dispute.commented", "dispute.accepted"}

    # The opener hears of the decision, with the reason.
    decided = [r for r in smtp_server.received if r.to == "site@chain.example"]
    assert len(decided) == 1 and "accepted" in decided[0].subject.lower() + decided[0].body.lower()
    assert "The log shows it was clean" in decided[0].body
    client.post("/logout")
    _login(client, "site@chain.example")
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "Accepted it: the answer is now Yes (was No)" in page and "thread is closed" in page


def test_the_reviewer_declines_with_a_reason_and_nothing_changes(app, client, make, chain):
    evaluation = _approved(make, chain)
    score = evaluation.score
    _login(client, "site@chain.example")
    client.post(f"/disputes/new/{evaluation.id}", data={"answer": "greeting.greeted", "reason": "We did greet"})
    dispute = db.session.scalar(select(Dispute))
    client.post("/logout")
    _login(client, "boss@chain.example")
    refused = client.post(f"/disputes/{dispute.id}/decision", data={"decision": "declined", "reason": "  "})
    assert refused.status_code == 422
    assert "Required: say why it is declined, so the site knows" in refused.get_data(as_text=True)
    db.session.refresh(dispute)
    assert dispute.status == "open"
    response = client.post(f"/disputes/{dispute.id}/decision",
                           data={"decision": "declined", "reason": "The shopper's timer says 2 minutes"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Evaluation, evaluation.id).score == score
    dispute = db.session.get(Dispute, dispute.id)
    assert (dispute.status, dispute.open_key, dispute.decision_reason) == \
        ("declined", None, "The shopper's timer says 2 minutes")
    again = client.post(f"/disputes/{dispute.id}/decision", data={"decision": "accepted", "value": "no"})
    assert again.status_code == 409 and "already declined" in again.get_data(as_text=True)
    closed = client.post(f"/disputes/{dispute.id}/messages", data={"body": "One more thing"})
    assert closed.status_code == 409 and db.session.scalar(select(func.count()).select_from(DisputeMessage)) == 0


def test_accepting_can_mark_an_answer_na_and_a_bad_value_is_refused(app, client, make, chain):
    evaluation = _approved(make, chain)
    _login(client, "region@chain.example")  # a regional manager of the visit's region may dispute too
    response = client.post(f"/disputes/new/{evaluation.id}", data={"answer": "greeting.smile", "reason": "No one rated"})
    assert response.status_code == 302
    dispute = db.session.scalar(select(Dispute))
    client.post("/logout")
    _login(client, "admin@chain.example")
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert '<option value="na">N/A (does not count)</option>' in page  # the rating's answers as a list
    bad = client.post(f"/disputes/{dispute.id}/decision", data={"decision": "accepted", "value": "9"})
    assert bad.status_code == 422 and "The answer must be a whole number from 1 to 5" in bad.get_data(as_text=True)
    same = client.post(f"/disputes/{dispute.id}/decision", data={"decision": "accepted", "value": "3"})
    assert "That is the answer already recorded (3 of 5)" in same.get_data(as_text=True)
    assert client.post(f"/disputes/{dispute.id}/decision", data={"decision": "accepted", "value": "na"}).status_code == 302
    db.session.expire_all()
    twin = _same_visit_answered(make, chain, evaluation, **{"greeting.smile": "na"})
    assert db.session.get(Evaluation, evaluation.id).score == pytest.approx(twin.score)


# --- bad input: per field, nothing stored -----------------------------------------------------------------------------


def test_bad_input_names_each_field_and_stores_nothing(app, client, make, chain, tmp_path):
    evaluation = _approved(make, chain)
    _login(client, "site@chain.example")
    response = client.post(f"/disputes/new/{evaluation.id}", data={
        "answer": "", "reason": "x" * 5001,
        "evidence": (io.BytesIO(b"%PDF-1.4 cut off here"), "log.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose the answer you dispute" in text
    assert "Too long: at most 5000 characters (this is 5001)" in text
    assert "This PDF is incomplete" in text
    assert "x" * 5001 in text  # what was typed is kept
    response = client.post(f"/disputes/new/{evaluation.id}", data={
        "answer": "order.clean", "reason": "",
        "evidence": (io.BytesIO(b"<svg onload=alert(1)></svg>"), "x.svg")}, content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert "Required: say what is wrong with this answer" in text and "SVG drawings" in text
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0
    uploads = tmp_path / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_a_photo_as_evidence_is_downscaled_and_stripped(app, client, make, chain):
    evaluation = _approved(make, chain)
    _login(client, "site@chain.example")
    response = client.post(f"/disputes/new/{evaluation.id}", data={
        "answer": "order.clean", "reason": "Photo of the clean counter",
        "evidence": (io.BytesIO(_jpeg_with_gps()), "IMG_0001.JPG")}, content_type="multipart/form-data")
    assert response.status_code == 302
    dispute = db.session.scalar(select(Dispute))
    assert dispute.evidence_kind == "photo" and dispute.evidence_name == "IMG_0001.jpg"
    client.post("/logout")
    _login(client, "boss@chain.example")
    photo = client.get(f"/disputes/{dispute.id}/evidence")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(photo.data))
    assert max(image.size) == 1600 and not image.getexif()


def test_a_pdf_is_sent_back_as_a_download_only(app, client, make, chain):
    evaluation = _approved(make, chain)
    headers = _token(make, chain["site"])
    client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", headers=headers,
                json={"moment": "order", "question": "clean", "reason": "See the log"})
    dispute = db.session.scalar(select(Dispute))
    assert dispute.evidence_kind == ""
    assert client.get(f"/disputes/{dispute.id}/evidence", headers=headers).status_code == 302  # pages need a login
    _login(client, "site@chain.example")
    assert client.get(f"/disputes/{dispute.id}/evidence").status_code == 404  # no evidence sent
    client.post(f"/disputes/new/{evaluation.id}", data={
        "answer": "greeting.greeted", "reason": "Greeted at once",
        "evidence": (io.BytesIO(PDF), "rota.pdf")}, content_type="multipart/form-data")
    second = db.session.scalar(select(Dispute).where(Dispute.question_key == "greeted"))
    download = client.get(f"/disputes/{second.id}/evidence")
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["Content-Security-Policy"] == "sandbox"


def test_one_open_dispute_per_answer(app, client, make, chain):
    evaluation = _approved(make, chain)
    body = {"moment": "order", "question": "clean", "reason": "Clean"}
    first = client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", json=body, headers=_token(make, chain["site"]))
    assert first.status_code == 201
    again = client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", json=body, headers=_token(make, chain["region"]))
    assert again.status_code == 409
    assert again.get_json()["errors"] == [{"field": "question", "message": f"This answer is already disputed (dispute "
                                                                           f"#{first.get_json()['id']}, still open): "
                                                                           "add to its thread instead"}]
    _login(client, "site@chain.example")
    form = client.get(f"/disputes/new/{evaluation.id}").get_data(as_text=True)
    assert 'value="order.clean"' not in form and 'value="greeting.greeted"' in form
    # Once decided, the same answer may be disputed again.
    manager = _token(make, chain["manager"])
    assert client.post(f"/api/v1/disputes/{first.get_json()['id']}/decision", headers=manager,
                       json={"decision": "declined", "reason": "No"}).status_code == 200
    assert client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", json=body,
                       headers=_token(make, chain["site"])).status_code == 201


# --- the window ------------------------------------------------------------------------------------------------------


def test_outside_the_window_it_is_refused_with_the_date(app, client, make, chain, frozen_clock):
    evaluation = _approved(make, chain)  # approved on 2026-06-18 01:30 in Stockholm (the frozen clock)
    frozen_clock.shift(timedelta(days=7))  # 2026-06-25 01:30: the last day
    headers = _token(make, chain["site"])
    body = {"moment": "order", "question": "clean", "reason": "Clean"}
    _login(client, "site@chain.example")
    assert "until the end of 2026-06-25" in client.get(f"/sites/visits/{evaluation.id}").get_data(as_text=True)
    frozen_clock.shift(timedelta(days=1))  # 2026-06-26 01:30 in Stockholm: closed
    response = client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", json=body, headers=headers)
    assert response.status_code == 409
    message = "The time to dispute this visit ended on 2026-06-25 (7 days after its approval on 2026-06-18)."
    assert response.get_json()["errors"] == [{"field": "evaluation_id", "message": message}]
    page = client.get(f"/sites/visits/{evaluation.id}").get_data(as_text=True)
    assert message in page and f"/disputes/new/{evaluation.id}" not in page
    refused = client.post(f"/disputes/new/{evaluation.id}", data={"answer": "order.clean", "reason": "Clean"})
    assert refused.status_code == 409 and message in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0


def test_a_window_of_zero_turns_disputes_off_and_the_setting_is_checked(app, client, make, chain):
    evaluation = _approved(make, chain)
    _login(client, "admin@chain.example")
    base = {"name": "Chain", "timezone": "Europe/Stockholm", "band_low": "50", "band_high": "80",
            "report_shopper_name": "code"}
    page = client.get("/settings").get_data(as_text=True)
    assert 'name="dispute_window_days"' in page and 'value="7"' in page
    for bad, message in (("-1", "Type a whole number of days from 0 to 90, e.g. 7."),
                         ("abc", "Type a whole number of days from 0 to 90, e.g. 7."),
                         ("91", "Type a whole number of days from 0 to 90 (0 turns disputes off).")):
        response = client.post("/settings", data={**base, "dispute_window_days": bad})
        assert message in response.get_data(as_text=True), bad
        db.session.refresh(chain["org"])
        assert chain["org"].dispute_window_days == 7
    client.post("/settings", data={**base, "dispute_window_days": "0"})
    db.session.refresh(chain["org"])
    assert chain["org"].dispute_window_days == 0
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "organisation.settings_changed")
                             .order_by(AuditLog.id.desc())).detail == {"dispute_window_days": [7, 0]}
    response = client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", headers=_token(make, chain["site"]),
                           json={"moment": "order", "question": "clean", "reason": "Clean"})
    assert response.status_code == 409 and "does not take disputes" in response.get_json()["detail"]


def test_a_visit_approved_again_after_a_fix_restarts_the_window(app, make, chain, frozen_clock):
    from auditapp.disputes.services import window_for
    from auditapp.visits.review import return_to_evaluator

    evaluation = _approved(make, chain)
    frozen_clock.shift(timedelta(days=10))
    assert not window_for(evaluation, chain["org"]).open
    return_to_evaluator(evaluation, chain["manager"], "Fix the note")
    assert not window_for(evaluation, chain["org"]).open  # not approved now: nothing to dispute
    approve(evaluation, chain["manager"])
    assert window_for(evaluation, chain["org"]).open


# --- access ------------------------------------------------------------------------------------------------------------


def test_api_access_by_role_site_and_organisation(app, client, make, chain):
    evaluation = _approved(make, chain)
    south_visit = _approved(make, chain, location=chain["south"])
    pending = make.evaluation(chain["org"], chain["journey"], chain["north"], chain["shopper"])  # not approved
    other = make.org(name="Other", slug="other")
    other_site = make.location(other, code="O1", region="North")
    other_manager = make.user(other, "manager")
    other_lm = make.user(other, "location_manager", places=[other_site])
    body = {"moment": "order", "question": "clean", "reason": "It was clean"}
    url = f"/api/v1/evaluations/{evaluation.id}/disputes"
    for who in ("shopper", "staff", "manager", "admin"):
        assert client.post(url, json=body, headers=_token(make, chain[who])).status_code == 403, who
    site = _token(make, chain["site"])
    for refused in (south_visit.id, pending.id, evaluation.id + 1000):
        response = client.post(f"/api/v1/evaluations/{refused}/disputes", json=body, headers=site)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.post(url, json=body, headers=_token(make, chain["south_site"])).status_code == 404
    assert client.post(url, json=body, headers=_token(make, other_lm)).status_code == 404

    invalid = client.post(url, json={"moment": "order", "question": "nope", "reason": " ", "colour": "red"},
                          headers=site)
    assert invalid.status_code == 422 and invalid.get_json()["errors"] == [{"field": "colour", "message": "Unknown field"}]
    invalid = client.post(url, json={"moment": "order", "question": "nope", "reason": " "}, headers=site)
    assert invalid.status_code == 422
    assert invalid.get_json()["errors"] == [
        {"field": "question", "message": "The moment 'order' has no question 'nope'"},
        {"field": "reason", "message": "Required: say what is wrong with this answer, so the reviewer can check it"}]
    invalid = client.post(url, json={"moment": "lobby", "question": "clean", "reason": "x"}, headers=site)
    assert invalid.get_json()["errors"] == [{"field": "moment", "message": "This visit has no moment 'lobby'"}]
    assert client.post(url, data="{nope", headers={**site, "Content-Type": "application/json"}).status_code == 400

    created = client.post(url, json=body, headers=site)
    assert created.status_code == 201
    data = created.get_json()
    assert data["status"] == "open" and isinstance(data["id"], int) and data["value_before"] == "no"
    assert created.headers["Location"].endswith(f"/disputes/{data['id']}")

    decision = f"/api/v1/disputes/{data['id']}/decision"
    for who in ("site", "region", "shopper", "staff"):
        assert client.post(decision, json={"decision": "declined", "reason": "x"},
                           headers=_token(make, chain[who])).status_code == 403, who
    assert client.post(decision, json={"decision": "declined", "reason": "x"},
                       headers=_token(make, other_manager)).status_code == 404
    manager = _token(make, chain["manager"])
    bad = client.post(decision, json={"decision": "maybe", "value": 3}, headers=manager)
    assert bad.status_code == 422 and bad.get_json()["errors"] == [{"field": "decision",
                                                                    "message": "Must be accepted or declined"}]
    bad = client.post(decision, json={"decision": "accepted"}, headers=manager)
    assert bad.get_json()["errors"] == [{"field": "value", "message": "The answer is required: give the corrected "
                                                                      "answer, or na to mark it N/A"}]
    done = client.post(decision, json={"decision": "accepted", "value": "yes", "reason": ""}, headers=manager)
    assert done.status_code == 200
    assert done.get_json()["status"] == "accepted" and done.get_json()["value_after"] == "yes"
    assert done.get_json()["evaluation_score"] == pytest.approx(db.session.get(Evaluation, evaluation.id).score)
    assert client.post(decision, json={"decision": "declined", "reason": "x"}, headers=manager).status_code == 409


def test_pages_refuse_other_sites_other_organisations_and_other_roles(app, client, make, chain):
    evaluation = _approved(make, chain)
    south_visit = _approved(make, chain, location=chain["south"])
    _login(client, "south@chain.example")
    response = client.post(f"/api/v1/evaluations/{south_visit.id}/disputes", headers={"X-Requested-With": "x"},
                           json={"moment": "order", "question": "clean", "reason": "ZQX south reason"})
    assert response.status_code == 201
    south_dispute = response.get_json()["id"]
    client.post("/logout")

    _login(client, "site@chain.example")  # North's manager: South's dispute does not exist for them
    for url in (f"/disputes/{south_dispute}", f"/disputes/{south_dispute}/evidence", f"/disputes/new/{south_visit.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/disputes/{south_dispute}/messages", data={"body": "hi"}).status_code == 404
    assert "ZQX" not in client.get("/disputes/?status=all").get_data(as_text=True)
    assert client.post(f"/disputes/{south_dispute}/decision", data={"decision": "declined"}).status_code == 403
    client.post("/logout")

    for email in ("sheila@chain.example", "staff@chain.example"):
        _login(client, email)
        assert client.get("/disputes/").status_code == 403
        assert client.get(f"/disputes/{south_dispute}").status_code == 403
        assert client.get(f"/disputes/new/{evaluation.id}").status_code == 403
        client.post("/logout")

    other = make.org(name="Other", slug="other")
    make.user(other, "manager", email="boss@other.example")
    _login(client, "boss@other.example")
    assert client.get(f"/disputes/{south_dispute}").status_code == 404
    assert client.post(f"/disputes/{south_dispute}/decision", data={"decision": "declined", "reason": "x"}).status_code == 404
    assert "ZQX" not in client.get("/disputes/?status=all").get_data(as_text=True)


# --- the query rate -------------------------------------------------------------------------------------------------


def test_the_query_rate_is_one_grouped_query_on_the_dashboard_and_in_the_workbook(app, client, make, chain):
    north = [_approved(make, chain) for _ in range(4)]
    south = [_approved(make, chain, location=chain["south"]) for _ in range(2)]
    make.evaluation(chain["org"], chain["journey"], chain["north"], chain["shopper"])  # waiting for review: not counted
    make.evaluation(chain["org"], chain["journey"], chain["north"], chain["staff"])  # staff: not counted
    site = _token(make, chain["site"])
    for question in ("clean", "wait"):  # two disputes on one visit: one disputed visit
        assert client.post(f"/api/v1/evaluations/{north[0].id}/disputes", headers=site,
                           json={"moment": "order", "question": question, "reason": "x"}).status_code == 201
    assert south

    org, journey_id = chain["org"], chain["journey"].id
    assert org.timezone  # loaded before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        lines, total = query_rates(org, Filters(journey_id=journey_id))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and "GROUP BY" in statements[0]
    assert [(r.code, r.approved, r.disputed) for r in lines] == [("N1", 4, 1), ("S1", 2, 0)]
    assert (total.approved, total.disputed, total.rate) == (6, 1, pytest.approx(1 / 6))

    _login(client, "boss@chain.example")
    page = client.get(f"/results/journeys/{chain['journey'].id}?period=all").get_data(as_text=True)
    assert "Query rate" in page and "The industry baseline is 3–5% of evaluations queried." in page
    assert "25%" in page and "Above the 3–5% baseline" in page and "Below the 3–5% baseline" in page
    data = client.get(f"/exports/scorecard.xlsx?journey_id={chain['journey'].id}").data
    sheet = load_workbook(io.BytesIO(data))["Queries"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows.index(next(r for r in rows if r[0] == "Code"))
    assert rows[header + 1][:6] == ["N1", "North One", "North", 4, 1, 0.25]
    assert rows[header + 2][:6] == ["S1", "South One", "South", 2, 0, 0]
    assert any("3–5%" in str(v) for r in rows for v in r if v)
    client.post("/logout")

    _login(client, "site@chain.example")  # a site's manager sees their own place's rate only
    page = client.get(f"/results/journeys/{chain['journey'].id}?period=all").get_data(as_text=True)
    assert "North One" in page and "South One" not in page


def test_an_evaluation_sent_again_keeps_its_dispute_by_answer_keys(app, make, chain):
    """Answers are replaced on a resubmission; disputes name the answer by its keys, so they still find it."""
    from auditapp.disputes.services import decide_dispute, open_dispute
    from auditapp.visits.review import return_to_evaluator

    evaluation = _approved(make, chain)
    dispute = open_dispute(evaluation, chain["site"], "location_manager", moment_key="order", question_key="clean",
                           reason="Clean")
    db.session.commit()
    return_to_evaluator(evaluation, chain["manager"], "Add a note")
    payload = {"client_uuid": evaluation.client_uuid, "journey_id": chain["journey"].id,
               "location_id": chain["north"].id, "source": "shopper",
               "started_at": evaluation.started_at.isoformat() + "Z",
               "answers": [{"moment": a.moment_key, "question": a.question_key, "value": a.value,
                            "note": "fixed" if a.question_key == "greeted" else a.note} for a in evaluation.answers]}
    assert submit_evaluation(chain["org"].id, chain["shopper"], "shopper", payload).resubmitted
    approve(evaluation, chain["manager"])
    decide_dispute(dispute, chain["manager"], "manager", decision="accepted", value="yes", reason="")
    db.session.commit()
    assert db.session.scalar(select(Answer.value).where(Answer.evaluation_id == evaluation.id,
                                                        Answer.question_key == "clean")) == "yes"


def test_opening_an_unanswered_optional_question_adds_the_answer(app, make, chain):
    from auditapp.disputes.services import decide_dispute, open_dispute

    evaluation = _approved(make, chain, **{"order.wait": None})
    dispute = open_dispute(evaluation, chain["site"], "location_manager", moment_key="order", question_key="wait",
                           reason="We served in 40 seconds")
    assert dispute.value_before is None
    decide_dispute(dispute, chain["manager"], "manager", decision="accepted", value=40, reason="Seen on the CCTV")
    db.session.commit()
    answer = db.session.scalar(select(Answer).where(Answer.evaluation_id == evaluation.id, Answer.question_key == "wait"))
    assert (answer.value, answer.number, answer.score) == ("40", 40.0, 1.0)
    twin = _same_visit_answered(make, chain, evaluation, **{"order.wait": 40})
    assert db.session.get(Evaluation, evaluation.id).score == pytest.approx(twin.score)


# --- webhooks ----------------------------------------------------------------------------------------------------------


def test_opening_and_deciding_a_dispute_are_announced_to_webhooks(app, client, make, chain):
    """dispute.opened and dispute.decided reach a receiver on loopback, signed, once each, after the commit."""
    import hashlib
    import hmac
    import json

    from auditapp.queue import run_pending
    from auditapp.webhooks.models import Webhook
    from tests.app.test_webhooks import Receiver

    receiver = Receiver()
    try:
        db.session.add(Webhook(org_id=chain["org"].id, url=receiver.url, events=["dispute.opened", "dispute.decided"],
                               secret="whsec_test"))
        db.session.commit()
        evaluation = _approved(make, chain)
        run_pending()
        assert receiver.received == []  # an approval is not a dispute event
        opened = client.post(f"/api/v1/evaluations/{evaluation.id}/disputes", headers=_token(make, chain["site"]),
                             json={"moment": "order", "question": "clean", "reason": "The floor was mopped at 10"})
        assert opened.status_code == 201
        run_pending()
        decided = client.post(f"/api/v1/disputes/{opened.get_json()['id']}/decision",
                              headers=_token(make, chain["manager"]),
                              json={"decision": "accepted", "reason": "CCTV agrees", "value": "yes"})
        assert decided.status_code == 200
        run_pending()
        bodies = []
        for headers, body in receiver.received:
            expected = "sha256=" + hmac.new(b"whsec_test", body, hashlib.sha256).hexdigest()
            assert headers["X-Auditapp-Signature"] == expected
            bodies.append(json.loads(body))
        assert [b["event"] for b in bodies] == ["dispute.opened", "dispute.decided"]
        assert bodies[0]["data"]["status"] == "open" and bodies[0]["data"]["question"] == "clean"
        assert bodies[1]["data"]["status"] == "accepted" and bodies[1]["data"]["value_after"] == "yes"
        assert bodies[1]["data"]["evaluation_score"] > bodies[0]["data"]["evaluation_score"]
        assert "reason" not in bodies[1]["data"]  # the thread stays in the product
    finally:
        receiver.stop()
