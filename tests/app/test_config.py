import os

from auditapp import create_app
from auditapp.config import env_overrides, normalise_database_url


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_environment_overrides():
    found = env_overrides({"DATABASE_URL": "sqlite:///a.db", "UPLOAD_DIR": "/tmp/u", "MAX_CONTENT_LENGTH": "1000"})
    assert found == {"SQLALCHEMY_DATABASE_URI": "sqlite:///a.db", "UPLOAD_DIR": "/tmp/u", "MAX_CONTENT_LENGTH": 1000}


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": None})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": None})
    assert first.config["SECRET_KEY"] and first.config["SECRET_KEY"] == second.config["SECRET_KEY"]


def test_sqlite_pragmas(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "p.db"), "SECRET_KEY": "x"})
    from auditapp.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        db.engine.dispose()


def test_production_turns_on_secure_cookies():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "AUDITAPP_ENV": "production"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_the_dashboard_cache_follows_a_redis_queue_unless_told_otherwise():
    base = {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "t"}
    alone = create_app(base)
    assert alone.config["CACHE_TYPE"] == "FileSystemCache"
    assert alone.config["CACHE_DIR"] == os.path.join(alone.instance_path, "cache")
    shared = create_app({**base, "TASK_QUEUE_URL": "redis://127.0.0.1:6379/1"})
    assert (shared.config["CACHE_TYPE"], shared.config["CACHE_REDIS_URL"]) == ("RedisCache", "redis://127.0.0.1:6379/1")
    own = create_app({**base, "TASK_QUEUE_URL": "redis://127.0.0.1:6379/1", "CACHE_REDIS_URL": "redis://cache:6379/2"})
    assert own.config["CACHE_REDIS_URL"] == "redis://cache:6379/2"
    off = create_app({**base, "TASK_QUEUE_URL": "redis://127.0.0.1:6379/1", "CACHE_TYPE": "NullCache",
                      "CACHE_NO_NULL_WARNING": True})
    assert off.config["CACHE_TYPE"] == "NullCache"
