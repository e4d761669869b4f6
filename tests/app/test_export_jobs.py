"""Exports as background jobs: the UI's downloads and POST /api/v1/exports start a job; its page shows progress; the
file is the synchronous export's; a killed worker's job is taken over and completes; failures say why."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from auditapp.exports.models import ExportJob
from auditapp.extensions import db
from auditapp.queue import run_pending, run_sweeps
from tests.queueing import Worker, queue_config, queue_modes, use_queue, wait_for

PER_VISIT = 4  # answers of a default evaluation of the sample journey (the required questions and verdicts)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def scene(app, make, tmp_path):
    app.config.update(EXPORT_INLINE_MAX_ROWS=0, EXPORT_DIR=str(tmp_path / "exports"))
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager")
    other_manager = make.user(org, "manager")
    shopper = make.user(org, "shopper")
    north = make.location(org, code="N1", name="North Branch", region="North")
    south = make.location(org, code="S1", name="ZQXSOUTH Branch", region="South")
    site = make.user(org, "location_manager", places=[north])
    journey = make.journey(org)
    from auditapp.visits.review import approve

    for day in range(1, 9):
        location = north if day % 2 else south
        evaluation = make.evaluation(org, journey, location, shopper, started_at=datetime(2026, 3, day, 9, 0),
                                     notes=f"visit {day}")
        approve(evaluation, manager)
    db.session.commit()
    return {"org": org, "manager": manager, "other_manager": other_manager, "site": site, "journey": journey,
            "north": north, "south": south}


def login(client, user):
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302


def get_file(client, url, **kwargs):
    """GET a file response and close it (send_file keeps the file open until the response is closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def sheets(data: bytes) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def test_a_big_download_becomes_a_job_whose_file_is_the_synchronous_one(app, client, scene):
    login(client, scene["manager"])
    params = {"journey_id": scene["journey"].id, "period": "all", "per_location": "yes"}
    response = client.get("/exports/scorecard.xlsx", query_string=params)
    assert response.status_code == 303
    page = client.get(response.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Waiting for a worker" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html  # without JS: it refreshes
    assert "exportjob.js" in html and "<progress" in html
    job = db.session.scalars(db.select(ExportJob)).one()
    status = client.get(f"/exports/jobs/{job.id}/status").get_json()
    assert status["status"] == "queued" and status["progress"] == 0 and status["download_url"] is None
    assert status["rows_total"] == 8 * PER_VISIT  # eight visits' answers

    assert run_pending() == 1
    status = client.get(f"/exports/jobs/{job.id}/status").get_json()
    assert status["error"] is None
    assert status["status"] == "done" and status["progress"] == 1 and status["rows_done"] == 8 * PER_VISIT
    background = get_file(client, status["download_url"])
    assert background.status_code == 200 and background.mimetype == XLSX
    assert "attachment" in background.headers["Content-Disposition"] and ".xlsx" in background.headers["Content-Disposition"]

    app.config["EXPORT_INLINE_MAX_ROWS"] = 10_000  # the same download, small enough to come back at once
    inline = client.get("/exports/scorecard.xlsx", query_string=params)
    assert inline.status_code == 200 and inline.mimetype == XLSX
    assert sheets(background.data) == sheets(inline.data)
    assert inline.headers["Content-Disposition"] == background.headers["Content-Disposition"]
    page = client.get(f"/exports/jobs/{job.id}").get_data(as_text=True)
    assert "Ready." in page and "refresh" not in page and "Kept until" in page


def test_the_responses_csv_job_gives_the_same_bytes(app, client, scene):
    login(client, scene["manager"])
    params = {"journey_id": scene["journey"].id, "period": "all"}
    response = client.get("/exports/responses.csv", query_string=params)
    assert response.status_code == 303
    run_pending()
    job = db.session.scalars(db.select(ExportJob)).one()
    db.session.refresh(job)
    background = get_file(client, f"/exports/jobs/{job.id}/file")
    app.config["EXPORT_INLINE_MAX_ROWS"] = 10_000
    inline = client.get("/exports/responses.csv", query_string=params)
    assert background.data == inline.data and background.data.startswith("\ufeff".encode())
    assert background.mimetype == "text/csv"


def test_api_starts_an_export_and_reports_it(app, client, make, scene):
    token = make.token(scene["manager"])
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/exports", json={"kind": "responses", "journey_id": scene["journey"].id,
                                                    "from": "2026-03-01", "to": "2026-03-04"}, headers=headers)
    assert response.status_code == 202, response.get_json()
    location = response.headers["Location"]
    assert location.startswith("/api/v1/exports/")
    body = client.get(location, headers=headers).get_json()
    assert body["status"] == "queued" and body["download_url"] is None and body["progress"] == 0
    run_pending()
    body = client.get(location, headers=headers).get_json()
    assert body["status"] == "done" and body["progress"] == 1 and body["error"] is None
    file = get_file(client, body["download_url"], headers=headers)
    rows = file.get_data(as_text=True).splitlines()
    assert len(rows) == 1 + 4 * PER_VISIT  # 1 to 4 March: four visits

    bad = client.post("/api/v1/exports", json={"kind": "pdf", "journey_id": "x"}, headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"kind", "journey_id"}
    assert client.post("/api/v1/exports", json=[1], headers=headers).status_code == 422
    other = make.journey(make.org())
    assert client.post("/api/v1/exports", json={"kind": "scorecard", "journey_id": other.id},
                       headers=headers).status_code == 404
    assert db.session.scalar(db.select(db.func.count(ExportJob.id))) == 1


def test_only_the_asker_sees_a_job_and_its_file(app, client, make, scene):
    login(client, scene["manager"])
    client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id})
    run_pending()
    job = db.session.scalars(db.select(ExportJob)).one()
    urls = [f"/exports/jobs/{job.id}", f"/exports/jobs/{job.id}/status", f"/exports/jobs/{job.id}/file"]
    assert all(get_file(client, url).status_code == 200 for url in urls)
    other = app.test_client()
    login(other, scene["other_manager"])
    assert [other.get(url).status_code for url in urls] == [404, 404, 404]
    assert other.get(f"/api/v1/exports/{job.id}").status_code == 404
    assert "No exports yet" in other.get("/exports/jobs").get_data(as_text=True)
    foreign = make.user(make.org(), "admin")
    stranger = app.test_client()
    login(stranger, foreign)
    assert [stranger.get(url).status_code for url in urls] == [404, 404, 404]


def test_a_location_managers_job_holds_their_place_only(app, client, scene):
    login(client, scene["site"])
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id, "period": "all"})
    assert response.status_code == 303
    run_pending()
    job = db.session.scalars(db.select(ExportJob)).one()
    db.session.refresh(job)
    assert job.status == "done" and job.rows_total == 4 * PER_VISIT  # the approved visits of North only
    data = get_file(client, f"/exports/jobs/{job.id}/file").data
    texts = {str(v) for rows in sheets(data).values() for row in rows for v in row}
    assert "North Branch" in texts and not any("ZQXSOUTH" in t for t in texts)
    refused = client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id,
                                                                  "location_id": scene["south"].id})
    assert refused.status_code == 400


def test_a_job_that_cannot_run_says_why(app, client, scene):
    login(client, scene["manager"])
    client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id,
                                                        "location_id": scene["north"].id})
    job = db.session.scalars(db.select(ExportJob)).one()
    scene["north"].org_id = db.session.scalar(db.select(db.func.max(ExportJob.org_id))) + 1000  # gone from the org
    from auditapp.auth.models import Organisation

    db.session.add(Organisation(id=scene["north"].org_id, name="Elsewhere", slug="elsewhere"))
    db.session.commit()
    run_pending()
    db.session.refresh(job)
    assert job.status == "failed"
    assert job.error == "The filters are no longer valid: location_id is not one of your locations."
    page = client.get(f"/exports/jobs/{job.id}").get_data(as_text=True)
    assert "This export failed." in page and "location_id is not one of your locations" in page


def test_a_job_that_keeps_crashing_fails_in_plain_words(app, client, scene, monkeypatch, frozen_clock):
    from auditapp.exports import jobs

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(jobs, "write_scorecard", broken)
    login(client, scene["manager"])
    client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id})
    job = db.session.scalars(db.select(ExportJob)).one()
    assert run_pending() == 1  # the first attempt; Huey schedules a retry a few seconds later
    db.session.refresh(job)
    assert job.status == "queued" and "trying again" in job.error
    for _ in range(2):
        frozen_clock.shift(timedelta(seconds=6))  # Huey's retry delay
        assert run_pending() == 1
    db.session.refresh(job)
    assert job.status == "failed" and job.attempts == 3
    assert job.error.startswith("The export could not be written (OSError: No space left on device).")
    assert not list(Path(app.config["EXPORT_DIR"]).rglob("*.xlsx"))


def test_the_lease_is_renewed_before_the_first_row_so_the_sweep_leaves_the_job_alone(app, client, scene, monkeypatch,
                                                                                      frozen_clock):
    """Seen in bench/export_job_bench.py: on 100,000 evaluations the scorecard's figures take ~27 s before the first
    answer row is written, and no lease was renewed until then; with a lease shorter than that, a sweep meanwhile
    would give the job, still being written, to a second attempt. The heartbeat now beats for the whole attempt."""
    import time

    from sqlalchemy.orm import Session

    from auditapp.exports import jobs
    from auditapp.timeutil import utcnow

    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.02)
    app.config["TASK_LEASE_SECONDS"] = 30
    original, seen = jobs.load_scorecard, {}

    def slow_figures(*args, **kwargs):
        frozen_clock.shift(timedelta(seconds=31))  # longer than the lease, and not one row written yet
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with Session(db.engine) as session:
                running = session.scalars(db.select(ExportJob)).one()
                seen["renewed"] = running.lease_until > utcnow() and running.status == "running"
            if seen["renewed"]:
                break
            time.sleep(0.02)
        with app.app_context():  # another worker's minutely sweep, in a session of its own
            seen["swept"] = run_sweeps()["exports"]
        return original(*args, **kwargs)

    monkeypatch.setattr(jobs, "load_scorecard", slow_figures)
    login(client, scene["manager"])
    client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id})
    assert run_pending() == 1  # the job only: the sweep enqueued no second attempt
    job = db.session.scalars(db.select(ExportJob)).one()
    assert seen == {"renewed": True, "swept": 0}
    assert job.status == "done" and job.attempts == 1 and job.rows_done == 8 * PER_VISIT


def test_expired_files_are_deleted_by_the_sweep(app, client, scene, frozen_clock):
    login(client, scene["manager"])
    client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id})
    run_pending()
    job = db.session.scalars(db.select(ExportJob)).one()
    db.session.refresh(job)
    path = Path(job.file_path)
    assert path.is_file()
    frozen_clock.shift(timedelta(days=6, hours=23))
    run_sweeps()
    assert path.is_file()
    frozen_clock.shift(timedelta(hours=2))
    run_sweeps()
    db.session.refresh(job)
    assert not path.exists() and job.file_path == "" and job.status == "failed"
    assert "deleted after its keeping time" in job.error
    assert client.get(f"/exports/jobs/{job.id}/file").status_code == 404


def test_keeping_time_is_configurable(app, client, scene):
    app.config["EXPORT_KEEP_DAYS"] = 2
    login(client, scene["manager"])
    client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id})
    run_pending()
    job = db.session.scalars(db.select(ExportJob)).one()
    db.session.refresh(job)
    assert job.expires_at - job.finished_at == timedelta(days=2)


# --- real worker processes ------------------------------------------------------------------------------------


@pytest.mark.real_clock
@pytest.mark.slow
@queue_modes()
def test_a_real_worker_writes_the_job(app, client, scene, tmp_path, queue_mode):
    use_queue(app, queue_config(queue_mode, tmp_path))
    login(client, scene["manager"])
    response = client.post("/api/v1/exports", json={"kind": "scorecard", "journey_id": scene["journey"].id},
                           headers={"X-Requested-With": "t"})
    assert response.status_code == 202
    location = response.headers["Location"]
    with Worker(app, log=tmp_path / "worker.log") as worker:
        body = wait_for(lambda: (b := client.get(location).get_json())["status"] == "done" and b, 60,
                        what=f"the job to finish; worker log:\n{worker.output()}")
    assert get_file(client, body["download_url"]).mimetype == XLSX


@pytest.mark.real_clock
@pytest.mark.slow
@queue_modes()
def test_a_job_whose_worker_is_killed_is_taken_over_and_completes(app, client, scene, tmp_path, queue_mode):
    use_queue(app, queue_config(queue_mode, tmp_path))
    app.config["TASK_LEASE_SECONDS"] = 2
    login(client, scene["manager"])
    client.get("/exports/responses.csv", query_string={"journey_id": scene["journey"].id, "period": "all"})
    job = db.session.scalars(db.select(ExportJob)).one()

    def seen():
        db.session.expire_all()
        return db.session.get(ExportJob, job.id)

    first = Worker(app, row_delay=0.1, log=tmp_path / "first.log")
    try:
        wait_for(lambda: seen().status == "running" and seen().rows_done > 2, 60,
                 what=f"the first worker to be half way; log:\n{first.output()}")
    finally:
        first.kill()  # SIGKILL: no chance to clean up; Huey had already taken the task off the queue
    killed_at = seen().rows_done
    assert seen().status == "running" and 0 < killed_at < 8 * PER_VISIT
    with Worker(app, log=tmp_path / "second.log") as second:
        # The second worker's sweep (at start-up and every minute) finds the lease expired and re-enqueues the job.
        from auditapp.queue import run_sweeps as sweep_now

        finished = None
        for _ in range(120):
            sweep_now()  # what the minutely periodic task does; the enqueued task runs in the second worker
            finished = seen()
            if finished.status in ("done", "failed"):
                break
            import time

            time.sleep(0.5)
        assert finished.status == "done", f"{finished.status} {finished.error}\n{second.output()}"
    assert finished.attempts == 2 and finished.rows_done == 8 * PER_VISIT
    app.config["EXPORT_INLINE_MAX_ROWS"] = 10_000
    inline = client.get("/exports/responses.csv", query_string={"journey_id": scene["journey"].id, "period": "all"})
    assert Path(finished.file_path).read_bytes() == inline.data
    leftovers = [p.name for p in Path(app.config["EXPORT_DIR"]).rglob("*") if p.is_file() and p.suffix != ".part"]
    assert leftovers == [Path(finished.file_path).name]  # the killed attempt never got to rename its file
