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


# --- corrective actions (migration 5e1f3b7a9c20): old action plans become corrective actions ---------------------------

SEED_ACTION_PLANS = SEED_TWO_DRAFTS[:2] + [
    'INSERT INTO "user" (id, email, name, password_hash, active, session_version, created_at) VALUES '
    "(1, 'max@acme.example', 'Max Manager', 'x', true, 1, '2026-01-01 00:00:00'), "
    "(2, 'cleo@acme.example', 'Cleo Centre', 'x', true, 1, '2026-01-01 00:00:00'), "
    "(3, 'sam@acme.example', 'Sam Shopper', 'x', true, 1, '2026-01-01 00:00:00'), "
    "(4, 'ann@acme.example', 'Ann Twin', 'x', true, 1, '2026-01-01 00:00:00'), "
    "(5, 'ann2@acme.example', 'Ann Twin', 'x', true, 1, '2026-01-01 00:00:00')",
    "INSERT INTO membership (user_id, org_id, role, created_at) VALUES (1, 1, 'manager', '2026-01-01 00:00:00'), "
    "(2, 1, 'location_manager', '2026-01-01 00:00:00'), (3, 1, 'shopper', '2026-01-01 00:00:00'), "
    "(4, 1, 'manager', '2026-01-01 00:00:00'), (5, 1, 'manager', '2026-01-01 00:00:00')",
    "INSERT INTO action (id, org_id, journey_id, moment_key, idea, owner, due_date, started_on, status, created_by_id, "
    "created_at, updated_at) VALUES "
    "(1, 1, 1, 'payment', 'Itemised quote', ' max manager ', '2026-02-01', '2026-01-10', 'in_progress', 1, "
    "'2026-01-10 09:00:00', '2026-01-11 09:00:00'), "
    "(2, 1, 1, 'arrival', 'Greet by name', 'CLEO@acme.example', NULL, '2026-01-05', 'done', 1, "
    "'2026-01-05 09:00:00', '2026-01-20 09:00:00'), "
    "(3, 1, 1, 'farewell', 'Say goodbye', 'Reception team lead', NULL, '2026-01-05', 'dropped', NULL, "
    "'2026-01-05 09:00:00', '2026-01-06 09:00:00'), "
    "(4, 1, 1, 'payment', 'Shopper as owner', 'Sam Shopper', NULL, '2026-01-05', 'open', 1, "
    "'2026-01-05 09:00:00', '2026-01-05 09:00:00'), "
    "(5, 1, 1, 'payment', 'Two of that name', 'Ann Twin', NULL, '2026-01-05', 'open', 1, "
    "'2026-01-05 09:00:00', '2026-01-05 09:00:00')",
]


def _action_plans_migration(url: str) -> None:
    """Old action plans: "in_progress" becomes "open", done and dropped stay; a free-text owner naming (or the e-mail
    of) exactly one manager-like member becomes the owner, any other text stays as a note; each gets a "created"
    event. The downgrade gives the owner back as text."""
    _flask(url, "db", "upgrade", "7c2d9a4e51b3")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in SEED_ACTION_PLANS:
                conn.execute(sa.text(statement))
        _flask(url, "db", "upgrade")
        with engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(sa.text(
                "SELECT id, status, owner_id, owner_note, definition_of_done, done_at, verified_at, question_key "
                "FROM action ORDER BY id"))}
            events = conn.execute(sa.text("SELECT action_id, kind, to_status, user_id FROM action_event "
                                          "ORDER BY action_id")).all()
        assert {i: (r.status, r.owner_id, r.owner_note) for i, r in rows.items()} == {
            1: ("open", 1, ""),  # in progress -> open; the name matched Max (case and spaces aside)
            2: ("done", 2, ""),  # the e-mail matched the location manager
            3: ("dropped", None, "Reception team lead"),  # no such user: kept as a note
            4: ("open", None, "Sam Shopper"),  # a shopper never owns an action
            5: ("open", None, "Ann Twin"),  # two people of that name: a manager chooses
        }
        assert str(rows[2].done_at).startswith("2026-01-20") and rows[1].done_at is None
        assert all(r.definition_of_done == "" and r.verified_at is None and r.question_key is None
                   for r in rows.values())
        assert [tuple(e) for e in events] == [(1, "created", "open", 1), (2, "created", "done", 1),
                                              (3, "created", "dropped", None), (4, "created", "open", 1),
                                              (5, "created", "open", 1)]
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE action SET status = 'verified' WHERE id = 2"))
        _flask(url, "db", "downgrade", "7c2d9a4e51b3")
        with engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT id, owner FROM action")).all())
            statuses = dict(conn.execute(sa.text("SELECT id, status FROM action")).all())
        assert back == {1: "Max Manager", 2: "Cleo Centre", 3: "Reception team lead", 4: "Sam Shopper", 5: "Ann Twin"}
        assert statuses[2] == "done"
    finally:
        engine.dispose()


def test_action_plans_migration_on_sqlite(tmp_path):
    _action_plans_migration("sqlite:///" + str(tmp_path / "actions.db"))


def test_action_plans_migration_on_postgresql():
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
        _action_plans_migration(url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
