"""Forms posted after the session ended: kept, sent once after the login. Without JavaScript there is no offline queue
to hold a shopper's answers, so the server holds them instead.

How it goes:
1. The evaluation form (new or fix) is posted, but the session has ended (the CSRF check fails because the session
   cookie is gone, or the login is no longer valid). park() stores the posted fields and photo files, bound to this
   browser by a random token in a cookie of its own (only its digest is stored) and, when the form carries one, to
   the account that opened the form (a signed hidden field). The browser goes to the login page.
2. After the login, the browser comes to /evaluations/resume, which claims each parked form of this browser for the
   logged-in user (a conditional UPDATE: two tabs never send it twice) and sends it through the same code as a
   normal post. client_uuid keeps a second send of the same evaluation a replay, never a second evaluation.

Only same-origin posts are kept (the Origin, or failing that the Referer, must be this site), so another site
cannot plant answers to be sent under a victim's login. Parked forms expire after PARK_DAYS.
"""
from __future__ import annotations

import hashlib
import secrets
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select, update
from werkzeug.datastructures import FileStorage, MultiDict

from ..extensions import db
from ..timeutil import utcnow
from .models import ParkedForm
from .photos import upload_dir

PARK_COOKIE = "auditapp_parked"
PARK_DAYS = 7
MAX_PARKED = 5  # tokens one browser keeps at once
OWNER_FIELD = "form_owner"
_OWNER_SALT = "evaluation-form-owner"


class ParkError(Exception):
    """A parked form that cannot be sent by this user; the message says why."""


def owner_token(secret_key: str, user_id: int) -> str:
    """The signed hidden field that names the account a form was opened by."""
    return URLSafeSerializer(secret_key, salt=_OWNER_SALT).dumps(int(user_id))


def owner_of(secret_key: str, token: str | None) -> int | None:
    if not token:
        return None
    try:
        value = URLSafeSerializer(secret_key, salt=_OWNER_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def same_origin(headers, host_url: str) -> bool:
    """True when the post came from a page of this site: Origin when the browser sends it, else Referer."""
    ours = urlsplit(host_url)
    source = headers.get("Origin") or headers.get("Referer") or ""
    if not source or source == "null":
        return False
    theirs = urlsplit(source)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_tokens(value: str | None) -> list[str]:
    return [t for t in (value or "").split(".") if 20 <= len(t) <= 64][:MAX_PARKED]


def park(*, endpoint: str, path: str, args: MultiDict, form: MultiDict, files: MultiDict, owner_id: int | None,
         config) -> str:
    """Keep a posted form; returns the raw token for the browser's cookie. Flushes, never commits."""
    _forget_expired(config)
    token = secrets.token_urlsafe(32)
    fields = [[key, value] for key, value in form.items(multi=True) if key not in ("csrf_token", OWNER_FIELD)]
    parked = ParkedForm(token_hash=_digest(token), endpoint=endpoint, path=path,
                        args=[[k, v] for k, v in args.items(multi=True)], fields=fields, files=[],
                        owner_id=owner_id, expires_at=utcnow() + timedelta(days=PARK_DAYS))
    db.session.add(parked)
    db.session.flush()
    folder = _folder(config, parked.id)
    kept = []
    for index, (name, upload) in enumerate(files.items(multi=True)):
        if not isinstance(upload, FileStorage) or not upload.filename:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        upload.save(str(folder / f"{index}.bin"))
        kept.append({"field": name, "file": f"{index}.bin", "filename": upload.filename,
                     "mimetype": upload.mimetype or "application/octet-stream"})
    parked.files = kept
    return token


@dataclass
class Resumed:
    parked: ParkedForm
    args: MultiDict
    form: MultiDict
    files: MultiDict

    def close(self) -> None:
        for upload in self.files.values():
            upload.close()


def claim(token: str, user, config) -> Resumed | None:
    """Take the parked form behind `token` for `user`, once. None when it is gone (sent, expired, unknown).

    Raises ParkError when it belongs to another account (it stays parked for that account). Flushes only: the
    claim is committed with what the caller stores, so a crash before that leaves it parked.
    """
    parked = db.session.scalar(select(ParkedForm).where(ParkedForm.token_hash == _digest(token)))
    if parked is None or parked.claimed_at is not None or parked.expires_at <= utcnow():
        return None
    if parked.owner_id is not None and parked.owner_id != user.id:
        raise ParkError("These answers were started by another account, so they were not sent. Log in with that "
                        "account to send them.")
    won = db.session.execute(update(ParkedForm).where(ParkedForm.id == parked.id, ParkedForm.claimed_at.is_(None))
                             .values(claimed_at=utcnow(), claimed_by_id=user.id)).rowcount
    if not won:
        return None  # another tab took it a moment ago
    folder = _folder(config, parked.id)
    files = MultiDict()
    for item in parked.files or []:
        path = folder / item["file"]
        if path.is_file():
            files.add(item["field"], FileStorage(stream=path.open("rb"), filename=item["filename"],
                                                 content_type=item["mimetype"], name=item["field"]))
    return Resumed(parked, MultiDict([tuple(p) for p in parked.args or []]),
                   MultiDict([tuple(p) for p in parked.fields or []]), files)


def forget_files(config, parked_id: int) -> None:
    """Remove a claimed form's files (after the submission is committed: the photos are stored by then)."""
    shutil.rmtree(_folder(config, parked_id), ignore_errors=True)


def _forget_expired(config) -> None:
    old = list(db.session.scalars(select(ParkedForm.id).where(ParkedForm.expires_at <= utcnow())))
    if old:
        db.session.execute(delete(ParkedForm).where(ParkedForm.id.in_(old)))
        for parked_id in old:
            forget_files(config, parked_id)


def _folder(config, parked_id: int) -> Path:
    return upload_dir(config) / "parked" / str(int(parked_id))
