"""The schema comes only from migrations, and the migrations agree with the models on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from auditapp import create_app
from auditapp.extensions import db
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x"})
with app.app_context():
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    print(repr(diff))
    sys.exit(1 if diff else 0)
"""


def _upgrade_and_compare(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x"}
    flask = [sys.executable, "-m", "flask", "--app", "auditapp"]
    up = subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    check = subprocess.run([sys.executable, "-c", CHECK, url], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, f"models and migrations differ: {check.stdout} {check.stderr}"
    down = subprocess.run([*flask, "db", "downgrade", "base"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert down.returncode == 0, down.stderr


def test_upgrade_on_empty_sqlite_matches_models(tmp_path):
    _upgrade_and_compare("sqlite:///" + str(tmp_path / "fresh.db"), tmp_path)


def test_upgrade_on_empty_postgresql_matches_models(tmp_path):
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        pytest.skip("DATABASE_URL is not PostgreSQL: .ci/run runs this on PostgreSQL")
    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(base))
    name = f"auditapp_mig_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        _upgrade_and_compare(url.set(database=name).render_as_string(hide_password=False), tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_app_never_calls_create_all_outside_tests():
    offenders = [p for p in (ROOT / "auditapp").rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []


# --- one draft per journey (migration 7c2d9e4a1b3f) --------------------------------------------------------------------

SEED_TWO_DRAFTS = [
    "INSERT INTO organisation (id, name, slug, timezone, band_low, band_high, created_at) "
    "VALUES (1, 'Acme', 'acme', 'UTC', 50, 80, '2026-01-01 00:00:00')",
    "INSERT INTO journey (id, org_id, name, description, archived, created_at, updated_at) "
    "VALUES (1, 1, 'Dentist visit', '', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO journey_version (journey_id, number, status, created_at) VALUES "  # ids from the sequence
    "(1, 1, 'published', '2026-01-01 00:00:00'), (1, 2, 'draft', '2026-01-02 00:00:00'), "
    "(1, 3, 'draft', '2026-01-03 00:00:00')",
]


def _flask(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x"}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "auditapp", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _one_draft_migration(url: str) -> None:
    """Older data with two drafts of one journey: the upgrade keeps the newest as the draft, retires (does not
    delete) the older one, then the partial index refuses a second draft but not a second retired version."""
    _flask(url, "db", "upgrade", "311db4e7c1f8")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in SEED_TWO_DRAFTS:
                conn.execute(sa.text(statement))
        _flask(url, "db", "upgrade")
        with engine.connect() as conn:
            statuses = dict(conn.execute(sa.text("SELECT number, status FROM journey_version")).all())
        assert statuses == {1: "published", 2: "retired", 3: "draft"}
        with pytest.raises(sa.exc.IntegrityError, match="uq_journey_version_one_draft|journey_version.journey_id"), \
                engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO journey_version (journey_id, number, status, created_at) "
                                 "VALUES (1, 4, 'draft', '2026-01-04 00:00:00')"))
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO journey_version (journey_id, number, status, created_at) "
                                 "VALUES (1, 4, 'retired', '2026-01-04 00:00:00')"))
        _flask(url, "db", "downgrade", "311db4e7c1f8")  # and back: two drafts allowed again
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO journey_version (journey_id, number, status, created_at) "
                                 "VALUES (1, 5, 'draft', '2026-01-05 00:00:00')"))
    finally:
        engine.dispose()


def test_one_draft_migration_on_sqlite(tmp_path):
    _one_draft_migration("sqlite:///" + str(tmp_path / "drafts.db"))


def test_one_draft_migration_on_postgresql():
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        pytest.skip("DATABASE_URL is not PostgreSQL: .ci/run runs this on PostgreSQL")
    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(base))
    name = f"auditapp_mig_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        _one_draft_migration(url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
