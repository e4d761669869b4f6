"""Per-user notification settings: the kinds a user turned off. One setting per user, for every organisation."""
from __future__ import annotations

from sqlalchemy import delete, select

from ..audit import record
from ..auth.models import User
from ..extensions import db
from .kinds import KINDS, kinds_for_role
from .models import NotificationOptOut


def turned_off_kinds(user_id: int) -> set[str]:
    return set(db.session.scalars(select(NotificationOptOut.kind).where(NotificationOptOut.user_id == user_id)))


def save_settings(user: User, org_id: int, role: str | None, wanted: dict[str, bool]) -> dict[str, list[str]]:
    """Turn the kinds of `role` on or off as `wanted` says (kind -> receive it); flushes and logs, never commits.

    Kinds that do not apply to the role are left as they are. Returns {"on": [...], "off": [...]}, the kinds that
    changed (nothing is logged when none did)."""
    unknown = set(wanted) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown notification kinds: {', '.join(sorted(unknown))}")
    applicable = {kind.key for kind in kinds_for_role(role)}
    off_now = turned_off_kinds(user.id)
    turn_off = sorted(k for k, receive in wanted.items() if k in applicable and not receive and k not in off_now)
    turn_on = sorted(k for k, receive in wanted.items() if k in applicable and receive and k in off_now)
    if turn_on:
        db.session.execute(delete(NotificationOptOut).where(NotificationOptOut.user_id == user.id,
                                                            NotificationOptOut.kind.in_(turn_on)))
    for kind in turn_off:
        db.session.add(NotificationOptOut(user_id=user.id, kind=kind))
    db.session.flush()
    if turn_on or turn_off:
        parts = ([f"on: {', '.join(KINDS[k].label for k in turn_on)}"] if turn_on else []) + \
                ([f"off: {', '.join(KINDS[k].label for k in turn_off)}"] if turn_off else [])
        record("user.notifications_changed", user, org_id=org_id, user=user,
               summary=f"{user.email} turned notifications {'; '.join(parts)}",
               detail={"on": turn_on, "off": turn_off})
    return {"on": turn_on, "off": turn_off}
