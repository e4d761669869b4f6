"""auditapp: phone-first mystery-shopper and frontline audits built on moments of truth."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import env_overrides, instance_secret_key, normalise_database_url
from .extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(ROOT / "templates"), instance_relative_config=True)
    app.config.from_object("auditapp.config.Config")
    app.config.update(env_overrides(os.environ))
    if config:
        app.config.update(config)
    _finish_config(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    from .results import cache

    cache.init_app(app)
    from . import i18n

    i18n.init_app(app)

    from . import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)
    from .web import register_web

    register_web(app)
    from . import queue

    queue.init_app(app)
    from .exports import jobs  # noqa: F401  (tasks known to the queue, in the web process and in workers)
    from .notify import tasks  # noqa: F401
    from .schedules import services as schedules  # noqa: F401
    from .webhooks import services  # noqa: F401
    return app


def _finish_config(app: Flask) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = "sqlite:///" + str(Path(app.instance_path) / "auditapp.db")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(uri)
    if uri.startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    elif uri.startswith("postgresql") and app.config.get("PG_RANDOM_PAGE_COST"):
        cost = float(app.config["PG_RANDOM_PAGE_COST"])  # a number, or the app does not start
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args["options"] = f"{connect_args.get('options', '')} -c random_page_cost={cost}".strip()
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config.get("EXPORT_DIR"):
        app.config["EXPORT_DIR"] = str(Path(app.instance_path) / "exports")
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(Path(app.instance_path) / "uploads")
    if not app.config.get("CACHE_TYPE"):
        # A deployment whose queue is on Redis may run on several hosts: their dashboard cache must be shared too.
        queue_url = app.config.get("TASK_QUEUE_URL") or ""
        if not app.config.get("CACHE_REDIS_URL") and queue_url.startswith(("redis://", "rediss://", "unix://")):
            app.config["CACHE_REDIS_URL"] = queue_url
        app.config["CACHE_TYPE"] = "RedisCache" if app.config.get("CACHE_REDIS_URL") else "FileSystemCache"
    if app.config["CACHE_TYPE"] == "FileSystemCache" and not app.config.get("CACHE_DIR"):
        app.config["CACHE_DIR"] = str(Path(app.instance_path) / "cache")
    if app.config["AUDITAPP_ENV"] == "production":
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets readers work while one writer writes; busy_timeout waits for a lock instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
