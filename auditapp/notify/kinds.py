"""The kinds of notification mail, who they are for, and how they are described on the settings page."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True, slots=True)
class Kind:
    key: str
    label: str
    description: str
    # Roles that see this kind on their settings page. Roles that do not exist yet (the scoped roles) are listed
    # already: a role nobody has changes nothing.
    roles: tuple[str, ...]


SITE_ROLES = ("location_manager", "regional_manager")

KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("critical_fail", "Critical fails",
         "A secret shopper's visit failed a critical question at a location you look after.",
         ("admin", "manager", *SITE_ROLES)),
    Kind("dispute_opened", "Disputes opened",
         "Someone disputes an answer of an evaluation you decide on.",
         ("admin", "manager", *SITE_ROLES)),
    Kind("dispute_decided", "Dispute decisions",
         "A dispute you opened was accepted or declined.",
         ("admin", "manager", *SITE_ROLES, "staff")),
    Kind("action_due", "Actions due",
         "An action you own is due soon.",
         ("admin", "manager", *SITE_ROLES, "staff")),
    Kind("action_overdue", "Actions overdue",
         "An action you own is past its due date.",
         ("admin", "manager", *SITE_ROLES, "staff")),
)}

# (label, description) as the settings and outbox pages show them, in the reader's language. The English in KINDS
# stays for the mails and the audit log.
SHOWN_TEXTS = {
    "critical_fail": (_l("Critical fails"),
                      _l("A secret shopper's visit failed a critical question at a location you look after.")),
    "dispute_opened": (_l("Disputes opened"), _l("Someone disputes an answer of an evaluation you decide on.")),
    "dispute_decided": (_l("Dispute decisions"), _l("A dispute you opened was accepted or declined.")),
    "action_due": (_l("Actions due"), _l("An action you own is due soon.")),
    "action_overdue": (_l("Actions overdue"), _l("An action you own is past its due date.")),
}

# Mail that is part of an account's life, not a notification: it cannot be turned off.
# A scheduled scorecard is stopped by the manager who set it up (schedules), not by the recipient's settings.
SYSTEM_KINDS = ("invite", "scorecard")


def kinds_for_role(role: str | None) -> list[Kind]:
    return [kind for kind in KINDS.values() if role in kind.roles]
