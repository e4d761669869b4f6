"""Copy a bench SQLite file into a fresh PostgreSQL database, so every bench runs the same data on both.

    with postgres_copy(sqlite_path) as url: ...   # `auditapp_bench_<random>` on $DATABASE_URL's server, dropped after

The schema comes from the models (db.create_all), the rows through COPY (a million rows in a few seconds), then
the id sequences are moved past the copied ids and the tables are VACUUM ANALYZEd (statistics and the visibility
map, as a database that has run for a while has them).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def server_url() -> sa.URL:
    from auditapp.config import normalise_database_url

    url = sa.make_url(normalise_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL))
    if not url.drivername.startswith("postgresql"):
        url = sa.make_url(DEFAULT_DATABASE_URL)
    if url.host not in LOOPBACK:
        raise SystemExit(f"refusing to bench on a database that is not on loopback: {url.host}")
    return url


@contextlib.contextmanager
def postgres_database(prefix: str = "auditapp_bench") -> Iterator[str]:
    """An empty database of its own, dropped at the end; yields its URL."""
    url = server_url()
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def copy_into(sqlite_path: Path, url: str) -> None:
    """Create the schema at `url` and copy every row of the SQLite file into it."""
    from auditapp import create_app
    from auditapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        db.create_all()
        tables = list(db.metadata.sorted_tables)
        db.session.remove()
        db.engine.dispose()
    src = sqlite3.connect(sqlite_path)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # circular foreign keys: no triggers while copying
            for table in tables:
                columns = [c.name for c in table.columns]
                quoted = ", ".join(f'"{c}"' for c in columns)
                rows = src.execute(f'SELECT {quoted} FROM "{table.name}"')
                bools = [isinstance(c.type, sa.Boolean) for c in table.columns]
                with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row([bool(v) if b and v is not None else v for v, b in zip(row, bools, strict=True)])
                if "id" in columns and isinstance(table.c.id.type, sa.Integer):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                f"coalesce(max(id), 0) + 1, false) FROM \"{table.name}\"")
            cur.execute("SET session_replication_role = origin")
        raw.commit()
        raw.autocommit = True
        with raw.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    engine.dispose()
    src.close()


@contextlib.contextmanager
def postgres_copy(sqlite_path: Path) -> Iterator[str]:
    with postgres_database() as url:
        copy_into(sqlite_path, url)
        yield url
