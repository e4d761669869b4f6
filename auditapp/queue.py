"""The task queue (Huey): background jobs, retries and the periodic scheduler, for every domain.

Storage comes from TASK_QUEUE_URL:
- unset: a SQLite file in the instance folder (SqliteHuey); nothing else to install, `make run` starts a worker;
- `redis://host:port/db`: Redis (RedisHuey), for production, workers on any number of hosts;
- `sqlite:///path`: that SQLite file; `memory://`: in this process only (tests without TASK_QUEUE_URL get this,
  and run the queue with `run_pending()`); `immediate`: run each task at once, in the caller (Huey's immediate mode).

Tasks never trust the queue alone. The database row (an export job, a webhook delivery, an outbox message, a
schedule's period) is the record; a task is only a nudge to work on it, and every task is safe to run twice
(it claims its row with a guarded UPDATE first). So:
- rows are enqueued AFTER the transaction that made them commits (`after_commit`): a worker never looks for a row
  that is not there yet, and a rolled back change enqueues nothing;
- the periodic `sweep` re-enqueues work whose nudge was lost (Redis down at enqueue time, a worker killed mid-way:
  Huey takes a task off the queue before running it).

A domain declares tasks with `@task(...)` and `@periodic(crontab(...))`: each run gets an app context of its own
(the app that `flask worker` made, or the last app create_app made in this process).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)

huey = Huey("auditapp", results=False, storage_class=MemoryStorage, utc=True)
_state: dict[str, Flask | None] = {"app": None}
SWEEPS: dict[str, Callable[[], int]] = {}

__all__ = ["after_commit", "crontab", "huey", "init_app", "periodic", "run_pending", "sweeper", "task"]


def storage_for(url: str | None, instance_path: str, name: str):
    """(storage class, kwargs, immediate) for a TASK_QUEUE_URL."""
    url = (url or "").strip()
    if not url:
        return SqliteStorage, {"filename": str(Path(instance_path) / "queue.db")}, False
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage, {"url": url}, False
    if url.startswith("sqlite:///"):
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///")}, False
    if url == "memory://":
        return MemoryStorage, {}, False
    if url == "immediate":
        return MemoryStorage, {}, True
    raise ValueError(f"TASK_QUEUE_URL must start with redis://, sqlite:/// or be memory:// or immediate, not {url!r}")


def init_app(app: Flask) -> None:
    """Point the one Huey instance at this app's queue (the last app made in a process wins: one app per process)."""
    url = app.config.get("TASK_QUEUE_URL")
    if not url and app.config.get("TESTING"):
        url = "memory://"  # a test's queue is its own; it never writes into the instance folder
    storage_class, kwargs, immediate = storage_for(url, app.instance_path, app.config["TASK_QUEUE_NAME"])
    huey.name = app.config["TASK_QUEUE_NAME"]
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    huey._immediate = immediate  # noqa: SLF001 (the setter would rebuild the storage a second time)
    huey.immediate_use_memory = True
    old = getattr(huey, "storage", None)
    huey.storage = huey.create_storage()
    if old is not None and old is not huey.storage and hasattr(old, "close"):
        try:
            old.close()
        except Exception:  # noqa: BLE001 (an old connection that will not close is no reason to fail)
            log.debug("closing the previous queue storage failed", exc_info=True)
    _state["app"] = app
    app.extensions["huey"] = huey


def _run_in_app(fn: Callable) -> Callable:
    @wraps(fn)
    def in_app(*args, **kwargs):
        app = _state["app"]
        if app is None:
            raise RuntimeError("the task queue has no app: call create_app() (flask worker does) first")
        with app.app_context():  # a session of its own, removed at the end
            return fn(*args, **kwargs)

    return in_app


def task(name: str, **options) -> Callable:
    """A Huey task that runs inside an app context; `name` is its stable name in the queue."""
    def decorator(fn: Callable):
        return huey.task(name=name, **options)(_run_in_app(fn))

    return decorator


def periodic(schedule, name: str, **options) -> Callable:
    """A Huey periodic task (run by every consumer started with the scheduler: make each one safe to run twice)."""
    def decorator(fn: Callable):
        return huey.periodic_task(schedule, name=name, **options)(_run_in_app(fn))

    return decorator


def sweeper(name: str) -> Callable:
    """Register `fn() -> int` for the minutely sweep: re-enqueue (or finish) work whose task was lost."""
    def register(fn: Callable[[], int]) -> Callable[[], int]:
        SWEEPS[name] = fn
        return fn

    return register


# --- enqueue after commit ------------------------------------------------------------------------------------------

_PENDING = "queue_after_commit"


def after_commit(task_wrapper, *args, session: Session | None = None) -> None:
    """Enqueue `task_wrapper(*args)` once the current transaction commits (nothing if it rolls back)."""
    session = session or db.session()
    session.info.setdefault(_PENDING, []).append((task_wrapper, args))


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released: the outer transaction may still roll back
    pending = session.info.pop(_PENDING, None)
    for task_wrapper, args in pending or ():
        try:
            task_wrapper(*args)
        except Exception:  # noqa: BLE001 (the row is stored; the sweep enqueues it again)
            log.exception("enqueueing %s%r failed; the periodic sweep will pick it up", task_wrapper.name, args)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    if session.get_nested_transaction() is None:
        session.info.pop(_PENDING, None)


# --- running the queue in this process -----------------------------------------------------------------------------


def run_pending(limit: int = 1000) -> int:
    """Run what the queue holds now, here (tests, `flask worker --once`): due scheduled tasks (retries) first."""
    done = 0
    while done < limit:
        for scheduled in huey.read_schedule():
            huey.enqueue(scheduled)
        queued = huey.dequeue()
        if queued is None:
            break
        huey.execute(queued)
        done += 1
    if has_app_context():
        db.session.expire_all()  # the tasks worked in sessions of their own: what this one holds may be stale
    return done


def run_sweeps() -> dict[str, int]:
    results = {}
    for name, fn in sorted(SWEEPS.items()):
        try:
            results[name] = fn()
            db.session.commit()
        except Exception:  # noqa: BLE001 (one domain's sweep must not stop the others')
            db.session.rollback()
            log.exception("sweep %s failed", name)
            results[name] = -1
    return results


@periodic(crontab(minute="*"), name="queue.sweep")
def sweep() -> dict[str, int]:
    """Every minute: each domain's sweeper (lost tasks, expired files, due schedules)."""
    return run_sweeps()
