"""Backups: one .tar.gz with the database and the uploaded photos, and a restore that puts both back.

SQLite is copied with its online backup API (consistent while the app keeps writing); PostgreSQL with pg_dump in
its custom format, restored with pg_restore. A manifest records what is inside, so a restore refuses a backup made
for the other kind of database.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from .timeutil import utcnow

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why."""


@dataclass
class BackupInfo:
    path: Path
    dialect: str
    photos: int
    size_bytes: int


def _pg_env_and_args(url: sa.URL) -> tuple[dict, list[str]]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    return env, args


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def create_backup(database_url: str, upload_dir: str, output: Path) -> BackupInfo:
    url = sa.make_url(database_url)
    dialect = url.get_backend_name()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if dialect == "sqlite":
            dump = tmp_path / "database.sqlite3"
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(dump)
            with target:
                source.backup(target)
            source.close()
            target.close()
        elif dialect == "postgresql":
            dump = tmp_path / "database.pgdump"
            env, args = _pg_env_and_args(url)
            result = subprocess.run(["pg_dump", "-Fc", "--no-owner", *args, "-f", str(dump), url.database],
                                    env=env, capture_output=True, text=True, timeout=3600)
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        else:
            raise BackupError(f"backups support SQLite and PostgreSQL, not {dialect}")
        uploads = Path(upload_dir)
        photos = sum(1 for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else 0
        manifest = {"format": 1, "dialect": dialect, "created_at": utcnow().isoformat() + "Z", "database": dump.name,
                    "photos": photos}
        (tmp_path / MANIFEST).write_text(json.dumps(manifest, indent=2))
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(tmp_path / MANIFEST, arcname=MANIFEST)
            tar.add(dump, arcname=dump.name)
            if uploads.exists():
                tar.add(uploads, arcname="uploads")
        partial.replace(output)  # never leave a half-written file under the final name
    return BackupInfo(path=output, dialect=dialect, photos=photos, size_bytes=output.stat().st_size)


def restore_backup(database_url: str, upload_dir: str, archive: Path) -> dict:
    url = sa.make_url(database_url)
    dialect = url.get_backend_name()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp_path, filter="data")  # the data filter refuses absolute paths and links out
        manifest_path = tmp_path / MANIFEST
        if not manifest_path.exists():
            raise BackupError(f"{archive} is not an auditapp backup (no {MANIFEST})")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("dialect") != dialect:
            raise BackupError(f"the backup is of a {manifest.get('dialect')} database; DATABASE_URL is {dialect}")
        dump = tmp_path / manifest["database"]
        if dialect == "sqlite":
            source = sqlite3.connect(dump)
            target = sqlite3.connect(_sqlite_path(url))
            with target:
                source.backup(target)
            source.close()
            target.close()
        else:
            env, args = _pg_env_and_args(url)
            result = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
                                     "-d", url.database, str(dump)], env=env, capture_output=True, text=True, timeout=3600)
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        restored_uploads = tmp_path / "uploads"
        if restored_uploads.exists():
            target_dir = Path(upload_dir)
            target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(restored_uploads, target_dir, dirs_exist_ok=True)
    return manifest
