"""Configuration: safe defaults here, environment variables override them (see README)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_KEYS = {
    # environment variable -> config key
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "UPLOAD_DIR": "UPLOAD_DIR",
    "AUDITAPP_ENV": "AUDITAPP_ENV",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_FROM": "MAIL_FROM",
    "MAIL_STARTTLS": "MAIL_STARTTLS",
    "MAIL_TIMEOUT": "MAIL_TIMEOUT",
    "BASE_URL": "BASE_URL",
    "MAX_CONTENT_LENGTH": "MAX_CONTENT_LENGTH",
    "TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "TASK_QUEUE_URL": "TASK_QUEUE_URL",
    "TASK_QUEUE_NAME": "TASK_QUEUE_NAME",
    "EXPORT_DIR": "EXPORT_DIR",
    "EXPORT_KEEP_DAYS": "EXPORT_KEEP_DAYS",
    "EXPORT_INLINE_MAX_ROWS": "EXPORT_INLINE_MAX_ROWS",
    "WEBHOOK_ALLOW_PRIVATE": "WEBHOOK_ALLOW_PRIVATE",
    "PG_RANDOM_PAGE_COST": "PG_RANDOM_PAGE_COST",
    "CACHE_TYPE": "CACHE_TYPE",
    "CACHE_REDIS_URL": "CACHE_REDIS_URL",
    "CACHE_DIR": "CACHE_DIR",
    "CACHE_DEFAULT_TIMEOUT": "CACHE_DEFAULT_TIMEOUT",
    "CACHE_KEY_PREFIX": "CACHE_KEY_PREFIX",
}


class Config:
    AUDITAPP_ENV = "development"
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # PostgreSQL's planner cost of a random page read, set on each connection. The server default (4) is meant for
    # spinning disks: with it a one-month report joins a month's evaluations to their moment results and answers by
    # reading every row of those tables (a hash join over a sequential scan). 1.1, the usual value for SSDs and
    # cached data, makes it use the indexes (about three times faster at a million answers). Empty: leave the
    # server's setting alone.
    PG_RANDOM_PAGE_COST: str | None = "1.1"
    SECRET_KEY: str | None = None  # default: generated once, kept in the instance folder
    UPLOAD_DIR: str | None = None  # default: instance/uploads
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    WTF_CSRF_TIME_LIMIT = None  # a form opened hours ago must still submit; the token is tied to the session
    INVITE_DAYS = 7
    # werkzeug's scrypt (n=2^15): slow on purpose. The test suite sets a cheap method (tests/conftest.py); a test
    # checks that this default is what production gets.
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method name, not a password)
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_LOGIN = "10 per minute;50 per hour"
    RATELIMIT_HEADERS_ENABLED = True
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "auditapp@localhost"
    MAIL_STARTTLS: bool | None = None  # None: STARTTLS exactly when MAIL_USERNAME is set (no password in the clear)
    MAIL_TIMEOUT = 10  # seconds per SMTP operation
    MAIL_SEND_AFTER_REQUEST = True  # send a request's mail right after it commits (else only `flask send-mail`)
    BASE_URL: str | None = None  # e.g. https://audits.example.com: links in mail sent from the command line
    TRUSTED_PROXIES = 0
    PHOTO_MAX_PIXELS = 40_000_000
    PHOTO_MAX_SIDE = 1600
    # Background work (auditapp/queue.py): None = a SQLite queue in the instance folder; redis://... in production.
    TASK_QUEUE_URL: str | None = None
    TASK_QUEUE_NAME = "auditapp"  # one name per deployment sharing a Redis
    TASK_LEASE_SECONDS = 120  # a running job not heard of for this long is taken over (its worker died)
    EXPORT_DIR: str | None = None  # default: instance/exports
    EXPORT_KEEP_DAYS = 7  # finished export files are deleted after this many days
    EXPORT_INLINE_MAX_ROWS = 20_000  # answers; a download with more becomes a job with a progress bar
    EXPORT_MAX_ATTEMPTS = 3  # a job whose worker died this many times is given up
    SCHEDULE_ATTACH_MAX_BYTES = 5 * 1024 * 1024  # a scheduled scorecard larger than this is sent as a link
    WEBHOOK_TIMEOUT = 10  # seconds per delivery attempt
    WEBHOOK_RETRY_SECONDS = 30  # first retry after this; doubled each time
    WEBHOOK_MAX_ATTEMPTS = 6
    # Webhook URLs that resolve to private, loopback or link-local addresses are refused unless this is set (or the
    # app runs in debug or testing, where http://127.0.0.1 receivers are allowed too).
    WEBHOOK_ALLOW_PRIVATE = False
    # The dashboard's numbers are cached (auditapp/results/cache.py) until an evaluation, journey, location or the
    # organisation changes. CACHE_TYPE None: RedisCache when CACHE_REDIS_URL is set (default: TASK_QUEUE_URL when it
    # is a Redis URL; several hosts need a shared cache), else FileSystemCache in CACHE_DIR (default instance/cache,
    # shared by the workers of one host).
    CACHE_TYPE: str | None = None
    CACHE_REDIS_URL: str | None = None
    CACHE_DIR: str | None = None
    CACHE_DEFAULT_TIMEOUT = 600  # seconds an entry lives; also the longest a missed invalidation can show old numbers
    CACHE_KEY_PREFIX = "auditapp:"  # one per deployment sharing a Redis
    CACHE_THRESHOLD = 2000  # FileSystemCache: entries kept before the oldest are removed


def env_overrides(environ: os._Environ | dict) -> dict:
    """Read the documented environment variables into config keys."""
    found = {}
    for env_name, key in ENV_KEYS.items():
        value = environ.get(env_name)
        if not value:
            continue
        if key in {"MAIL_PORT", "MAIL_TIMEOUT", "MAX_CONTENT_LENGTH", "TRUSTED_PROXIES", "EXPORT_KEEP_DAYS",
                   "EXPORT_INLINE_MAX_ROWS", "CACHE_DEFAULT_TIMEOUT"}:
            found[key] = int(value)
        elif key in ("MAIL_STARTTLS", "WEBHOOK_ALLOW_PRIVATE"):
            found[key] = value.strip().lower() in {"1", "true", "yes", "on"}
        else:
            found[key] = value
    return found


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Generate a secret key once and keep it, so sessions survive a restart."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Exclusive create: when several workers start at once, the first one wins and the others read its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
