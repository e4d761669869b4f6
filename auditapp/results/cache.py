"""A cache of the dashboard's numbers (Flask-Caching), dropped as soon as what they are computed from changes.

A dashboard at 100k evaluations takes a second or more to compute, and managers open it again and again between two
submissions. Each organisation has a version token in the cache; an entry's key holds the token it was computed
under. When a transaction that wrote an evaluation, its answers or moment results, a journey, a location or the
organisation commits, the organisation's token is replaced, so every entry of the old one is unreachable (and
expires after CACHE_DEFAULT_TIMEOUT). A write whose organisation cannot be told from the session's objects or the
statement's parameters (a moment edited without its journey loaded, a raw SQL statement) replaces a token shared by
all organisations instead: correct, only less economical.

The token is read before the numbers are computed and replaced after the writer commits, so an entry stored under a
token always holds numbers at least as new as the token: a reader never gets numbers older than the last commit it
could see. A writer replaces the token only while the organisation is marked as viewed (a reader computing its
numbers marks it first, for twice the entries' lifetime; the mark's random value is part of every key): a
submission to an organisation nobody looks at costs one cache read, not a write. When the cache cannot be reached
the numbers are computed as if nothing were cached.

Backends (see config.py): Redis when CACHE_REDIS_URL is set (several hosts), else files in the instance folder
(every worker process of one host shares them); tests use NullCache unless they test the cache.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date

from flask import current_app, has_app_context
from flask_caching import Cache
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import TextClause

from ..timeutil import local_today
from . import queries

log = logging.getLogger(__name__)
cache = Cache()

# Tables the dashboard's numbers are read from (tests/app/test_dashboard_cache.py checks this against the SQL that
# queries.dashboard() runs). A write to any other table leaves the cached numbers alone.
READ_TABLES = frozenset({"evaluation", "moment_result", "answer", "journey", "journey_version", "moment", "question",
                         "location", "organisation"})


def _shape() -> str:
    """The fields of queries.py's dataclasses: entries pickled by code with other shapes are never read back."""
    shapes = sorted((name, tuple(field.name for field in fields(obj))) for name, obj in vars(queries).items()
                    if isinstance(obj, type) and is_dataclass(obj))
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:12]


FORMAT = _shape()
ALL_ORGS = "all"
_PENDING = "dashboard_cache_orgs"  # session.info: the organisations (or ALL_ORGS) written since the last commit


def init_app(app) -> None:
    cache.init_app(app)


def dashboard(org, filters: queries.Filters, grain: str, *, today: date | None = None) -> queries.Dashboard:
    """queries.dashboard(org, filters, grain), from the cache when nothing it reads has changed since."""
    today = today or local_today(org.timezone)
    try:
        viewed = cache.get(_viewed_name(org.id))
        numbers = None if viewed is None else cache.get(_entry_key(org.id, viewed, filters, grain, today))
        if isinstance(numbers, queries.Dashboard):
            return numbers
        if viewed is None:
            viewed = _mark_viewed(org.id)
        # The tokens are read after the mark is known to be there: a commit from now on replaces them.
        key = _entry_key(org.id, viewed, filters, grain, today)
    except Exception:  # noqa: BLE001 (an unreachable or corrupt cache must not take the dashboard down)
        log.warning("dashboard cache unavailable; computing the numbers", exc_info=True)
        return queries.dashboard(org, filters, grain, today=today)
    numbers = queries.dashboard(org, filters, grain, today=today)
    try:
        cache.set(key, numbers)
    except Exception:  # noqa: BLE001
        log.warning("dashboard cache unavailable; not storing the numbers", exc_info=True)
    return numbers


def _viewed_name(org_id: int) -> str:
    return f"dashboard-viewed:{org_id}"


def _mark_viewed(org_id: int) -> str:
    """Note that the organisation has cached dashboards, so that its writers replace its token; a random value that
    is part of every entry's key: when the mark expires or is evicted, the entries made under it are unreachable
    (writers stopped replacing the token then)."""
    name = _viewed_name(org_id)
    cache.add(name, secrets.token_hex(8), timeout=2 * current_app.config["CACHE_DEFAULT_TIMEOUT"])
    return str(cache.get(name))


def _entry_key(org_id: int, viewed: str, filters: queries.Filters, grain: str, today: date) -> str:
    parts = (FORMAT, org_id, viewed, _token(ALL_ORGS), _token(org_id), filters.journey_id, filters.location_id,
             filters.region, filters.date_from, filters.date_to, filters.source, filters.status,
             None if filters.places is None else sorted(filters.places), grain, today)
    return "dashboard:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _token(scope) -> str:
    name = f"dashboard-token:{scope}"
    token = cache.get(name)
    if token is None:
        cache.add(name, secrets.token_hex(8), timeout=0)  # add: two first readers agree on one token
        token = cache.get(name)
    return str(token)


def forget(scopes) -> None:
    """Make every cached dashboard of these organisations (ids, or ALL_ORGS) unreachable. An organisation nobody
    has viewed a dashboard of lately has nothing cached: one read, no write (most submissions)."""
    if not has_app_context() or cache not in current_app.extensions.get("cache", {}):
        return  # a session of a script without the app: there is no cache to forget
    for scope in scopes:
        try:
            if scope == ALL_ORGS or cache.get(_viewed_name(scope)) is not None:
                cache.set(f"dashboard-token:{scope}", secrets.token_hex(8), timeout=0)
        except Exception:  # noqa: BLE001 (entries then live until they expire: CACHE_DEFAULT_TIMEOUT)
            log.warning("dashboard cache unavailable; could not forget organisation %s", scope, exc_info=True)


# --- what a transaction wrote --------------------------------------------------------------------------------------


def _note(session: Session, scope) -> None:
    session.info.setdefault(_PENDING, set()).add(scope)


def _org_of(session: Session, obj, flushed: dict, depth: int = 0):
    """The organisation a written object belongs to: its own org_id, or its parent's when the session holds the
    parent (a moment result's evaluation, a question's moment, a moment's version, a version's journey) or has just
    flushed it (`flushed`: new objects join the identity map only after the flush); None when that is not known
    without a query."""
    if obj.__tablename__ == "organisation":
        return obj.id
    org_id = getattr(obj, "org_id", None)
    if org_id is not None or depth > 3:
        return org_id
    for column, model in _parents():
        pk = getattr(obj, column, None)
        if pk is not None:
            parent = flushed.get((model, pk)) or session.identity_map.get(identity_key(model, pk))
            return None if parent is None else _org_of(session, parent, flushed, depth + 1)
    return None


def _parents():
    from ..evaluations.models import Evaluation
    from ..journeys.models import Journey, JourneyVersion, Moment

    return (("evaluation_id", Evaluation), ("version_id", JourneyVersion), ("journey_id", Journey),
            ("moment_id", Moment))


@event.listens_for(Session, "after_flush")
def _written_objects(session: Session, flush_context) -> None:
    written = [obj for obj in (*session.new, *session.dirty, *session.deleted)
               if getattr(obj, "__tablename__", None) in READ_TABLES]
    flushed = {(type(obj), obj.id): obj for obj in written}
    for obj in written:
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue  # loaded and touched, nothing changed
        org_id = _org_of(session, obj, flushed)
        _note(session, ALL_ORGS if org_id is None else org_id)


@event.listens_for(Session, "do_orm_execute")
def _written_by_statement(state) -> None:
    if state.is_select:
        return
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table is None:  # text(): any table
        if isinstance(statement, TextClause) and _writes(str(statement)):
            _note(state.session, ALL_ORGS)
        return
    if table not in READ_TABLES:
        return
    rows = _inserted_rows(state) if state.is_insert else []
    orgs = _orgs_of_rows(state.session, table, rows)
    if state.is_insert and rows and None not in orgs:
        for org_id in orgs:
            _note(state.session, org_id)
    else:  # an UPDATE or DELETE of rows chosen by a WHERE: their organisations are not known here
        _note(state.session, ALL_ORGS)


def _inserted_rows(state) -> list:
    """The rows an INSERT writes: its executemany parameters, or the values written into the statement."""
    params = state.parameters
    if not params:
        try:
            params = state.statement.compile(dialect=state.session.get_bind().dialect).params
        except Exception:  # noqa: BLE001 (not known: the caller then forgets every organisation)
            return []
    return params if isinstance(params, list) else [params]


def _orgs_of_rows(session: Session, table: str, rows: list) -> set:
    """The organisations of the rows a statement inserts, from their org_id or their evaluation in the session
    (None among them when one is not known)."""
    if not all(isinstance(row, Mapping) for row in rows):
        return {None}
    if all("org_id" in row for row in rows):
        return {row["org_id"] for row in rows}
    if table not in ("answer", "moment_result"):
        return {None}
    from ..evaluations.models import Evaluation

    evaluations = {row.get("evaluation_id") for row in rows}  # one evaluation's answers, usually
    return {getattr(session.identity_map.get(identity_key(Evaluation, pk)), "org_id", None) for pk in evaluations}


_READ_ONLY_SQL = {"SELECT", "EXPLAIN", "SET", "SHOW", "PRAGMA", "ANALYZE", "VACUUM", "SAVEPOINT", "RELEASE", "BEGIN",
                  "COMMIT", "ROLLBACK"}


def _writes(sql: str) -> bool:
    words = sql.replace("(", " ").upper().split()
    if not words:
        return False
    if words[0] == "WITH":  # a CTE in front of a SELECT, or of an INSERT, UPDATE or DELETE
        return bool({"INSERT", "UPDATE", "DELETE"} & set(words))
    return words[0] not in _READ_ONLY_SQL


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: nothing is visible to other sessions before the outer commit
    scopes = session.info.pop(_PENDING, None)
    if scopes:
        forget(sorted(scopes, key=str))


@event.listens_for(Session, "after_transaction_end")
def _nothing_written(session: Session, transaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has already taken the pending set)
        session.info.pop(_PENDING, None)
