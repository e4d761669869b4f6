"""An uploaded journey workbook waiting for the manager's choice (new version or copy), carried in a signed field.

When a workbook's journey name already exists, the import page asks what to do before importing anything. The
checked workbook travels to that second step inside the choice form itself, as a signed, compressed token holding
the parsed journey (text only, a few kilobytes even for a large journey) rather than the .xlsx file:
- nothing is stored on the server, so there is nothing to clean up, and any app instance can take the second
  step (instances share SECRET_KEY, as they must for sessions);
- the signature (SECRET_KEY, its own salt) means the journey cannot be altered in the browser, and the workbook
  is not parsed again;
- the token names the user and organisation it was made for, and expires (MAX_AGE): another account, another
  organisation or an old page gets a clear "upload it again" instead of an import;
- it also records which same-named journeys there were and their published version numbers, so a second click on
  "make it a new version" (or a version published by someone else in between) is refused rather than stacked.
The same token carries an XLSForm whose unsupported parts (repeats, calculations, skip logic...) the manager must
agree to leave out before anything is imported: its `purpose` (CONFIRM rather than CHOOSE) keeps a token of one
step from being used at the other, and `draft_of` names the journey when the upload is to become its draft.
Nothing here imports Flask: the views pass the secret key and the current user and organisation.
"""
from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .spec import JourneySpec, spec_from_dict, spec_to_dict

SALT = "auditapp.journeys.pending-import"
MAX_AGE = 3600  # seconds a manager has to make the choice
MAX_TOKEN_LENGTH = 1_500_000  # below the 2 MB form-field limit (MAX_FORM_MEMORY_SIZE)
CHOOSE = "choose"  # the name is taken: a new version or a copy
CONFIRM = "confirm"  # an XLSForm with unsupported parts: import without them?


class PendingImportError(Exception):
    """The token cannot be used; the message tells the manager what to do."""


@dataclass(frozen=True, slots=True)
class PendingImport:
    spec: JourneySpec
    filename: str
    published_numbers: dict[int, int | None]  # same-named journey id -> its published version number at upload
    purpose: str = CHOOSE
    draft_of: int | None = None  # CONFIRM for an upload as a draft: the journey's id
    left_out: tuple[str, ...] = ()  # CONFIRM: what the import leaves out, as shown to the manager


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def seal(spec: JourneySpec, filename: str, *, user_id: int, org_id: int, published_numbers: dict[int, int | None],
         secret_key: str, purpose: str = CHOOSE, draft_of: int | None = None, left_out: tuple[str, ...] = ()) -> str:
    """The token for the choice (or confirmation) form. Raises PendingImportError when the journey is too big."""
    token = _serializer(secret_key).dumps({
        "user": user_id, "org": org_id, "filename": filename, "spec": spec_to_dict(spec),
        "published": [[journey_id, number] for journey_id, number in published_numbers.items()],
        "purpose": purpose, "draft_of": draft_of, "left_out": list(left_out),
    })
    if len(token) > MAX_TOKEN_LENGTH:
        raise PendingImportError("This workbook is too big to hold while you choose. Give the journey a name that "
                                 "is not taken yet (sheet journey, field name) and import it again.")
    return token


def unseal(token: str, *, user_id: int, org_id: int, secret_key: str, max_age: int = MAX_AGE,
           purpose: str = CHOOSE) -> PendingImport:
    """The pending import in `token`, if it is genuine, recent, made for this user in this organisation and for
    this step (`purpose`)."""
    try:
        data = _serializer(secret_key).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise PendingImportError(f"This upload is more than {max_age // 60} minutes old and has expired: nothing "
                                 "was imported. Upload the workbook again.") from None
    except BadSignature:
        raise PendingImportError("This upload could not be read (the page was changed or is from another server): "
                                 "nothing was imported. Upload the workbook again.") from None
    if data.get("user") != user_id or data.get("org") != org_id:
        raise PendingImportError("This upload was made by another account or in another organisation: nothing was "
                                 "imported. Upload the workbook again yourself.")
    if data.get("purpose", CHOOSE) != purpose:
        raise PendingImportError("This upload belongs to another step of the import: nothing was imported. Upload "
                                 "the workbook again.")
    draft_of = data.get("draft_of")
    return PendingImport(spec=spec_from_dict(data["spec"]), filename=data.get("filename", ""),
                         published_numbers={int(j): n for j, n in data.get("published", [])}, purpose=purpose,
                         draft_of=int(draft_of) if draft_of is not None else None,
                         left_out=tuple(data.get("left_out") or ()))
