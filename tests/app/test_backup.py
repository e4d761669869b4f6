"""backup writes the database and photos into one archive; restore puts them back (SQLite and PostgreSQL)."""
import json
import tarfile
from pathlib import Path

from auditapp.extensions import db
from auditapp.locations.models import Location
from tests.clock import on_frozen_dates


def test_backup_then_restore_brings_data_and_photos_back(app, runner, make, tmp_path):
    org = make.org(name="Backed Up")
    make.location(org, code="007", name="Kept branch")
    photo = Path(app.config["UPLOAD_DIR"]) / str(org.id) / "p.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"not really a jpeg")
    archive = tmp_path / "b.tar.gz"

    result = runner.invoke(args=["backup", "--output", str(archive)])
    assert result.exit_code == 0, result.output
    assert "1 photo files" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and any(n.startswith("database.") for n in names)

    # Lose data after the backup.
    db.session.execute(Location.__table__.delete())
    db.session.commit()
    photo.unlink()
    make.location(org, code="999", name="Made after the backup")

    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    codes = sorted(loc.code for loc in db.session.scalars(db.select(Location)))
    assert codes == ["007"]
    assert photo.read_bytes() == b"not really a jpeg"


@on_frozen_dates
def test_backup_without_output_is_named_by_its_utc_time(app, runner, tmp_path, frozen_at):
    app.instance_path = str(tmp_path / "instance")  # not the checkout's instance/ folder
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    archive = Path(app.instance_path) / "backups" / f"auditapp-{frozen_at:%Y%m%d-%H%M%S}.tar.gz"
    assert result.output.strip().splitlines()[-1] == str(archive)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["created_at"] == f"{frozen_at:%Y-%m-%dT%H:%M:%S}Z"


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path):
    bogus = tmp_path / "x.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        note = tmp_path / "note.txt"
        note.write_text("hello")
        tar.add(note, arcname="note.txt")
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    assert "not an auditapp backup" in result.output


def test_restore_asks_before_replacing(runner, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    result = runner.invoke(args=["restore", str(archive)], input="n\n")
    assert result.exit_code != 0
