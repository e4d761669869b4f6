"""Change an organisation's settings. Services flush; views and CLI commands commit."""
from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from flask_babel import gettext as _

from ..audit import record
from ..auth.models import Organisation
from ..extensions import db
from ..reports.visit import SHOPPER_NAME_CHOICES

DEFAULT_BANDS = (50.0, 80.0)
MAX_DISPUTE_WINDOW = 90  # days; 0 turns disputes off


class SettingsError(ValueError):
    """A setting that cannot be saved; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """IANA zone names, sorted; the legacy aliases without a region (EST, posix/...) left out of the list."""
    regional = sorted(name for name in available_timezones() if "/" in name and not name.startswith(("posix/", "right/")))
    return ("UTC", *regional)


@lru_cache(maxsize=1)
def _zones_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def canonical_time_zone(value: str) -> str | None:
    """The zone's proper spelling ('europe/stockholm' -> 'Europe/Stockholm'), or None if there is no such zone."""
    return _zones_by_lower().get((value or "").strip().lower())


def check_bands(band_low: float, band_high: float) -> None:
    if not 0 < band_low < 100:
        raise SettingsError(_("The lower band must be more than 0 and less than 100."), "band_low")
    if not 0 < band_high <= 100:
        raise SettingsError(_("The upper band must be more than 0 and at most 100."), "band_high")
    if band_low >= band_high:
        raise SettingsError(_("The upper band must be above the lower band (%(low)s).", low=format(band_low, "g")), "band_high")


def check_dispute_window(days) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DISPUTE_WINDOW:
        raise SettingsError(_("Type a whole number of days from 0 to %(max)d (0 turns disputes off).", max=MAX_DISPUTE_WINDOW),
                            "dispute_window_days")
    return days


def update_settings(org: Organisation, *, name: str, timezone: str, band_low: float, band_high: float,
                    report_shopper_name: str | None = None, dispute_window_days: int | None = None) -> dict:
    """Save the settings and audit-log what changed; returns {field: [old, new]} (empty when nothing changed).

    `report_shopper_name` and `dispute_window_days` None keep the current choice."""
    name = (name or "").strip()
    if not name:
        raise SettingsError(_("Give the organisation a name."), "name")
    zone = canonical_time_zone(timezone)
    if zone is None:
        raise SettingsError(_("'%(zone)s' is not a known time zone; pick one from the list, e.g. Europe/London.", zone=timezone),
                            "timezone")
    band_low, band_high = float(band_low), float(band_high)
    check_bands(band_low, band_high)
    if report_shopper_name is None:
        report_shopper_name = org.report_shopper_name or "code"
    if report_shopper_name not in SHOPPER_NAME_CHOICES:
        raise SettingsError(_("Choose how visit reports name the shopper: %(choices)s.", choices=" or ".join(SHOPPER_NAME_CHOICES)),
                            "report_shopper_name")
    if dispute_window_days is None:
        dispute_window_days = org.dispute_window_days if org.dispute_window_days is not None else 7
    dispute_window_days = check_dispute_window(dispute_window_days)
    new = {"name": name, "timezone": zone, "band_low": band_low, "band_high": band_high,
           "report_shopper_name": report_shopper_name, "dispute_window_days": dispute_window_days}
    changed = {key: [getattr(org, key), value] for key, value in new.items() if getattr(org, key) != value}
    for key, (_old, value) in changed.items():
        setattr(org, key, value)
    if changed:
        db.session.flush()
        record("organisation.settings_changed", org, org_id=org.id,
               summary="Settings changed: " + "; ".join(f"{k} {old} -> {value}" for k, (old, value) in changed.items()),
               detail=changed)
    return changed
