"""Locations: create, edit, archive, import and export. Services flush; views and CLI commands commit."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..audit import record
from ..extensions import db
from .importer import LocationRow, ParseResult, Problem, parse_locations
from .models import Location

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class LocationError(ValueError):
    """A change that cannot be made; `field` names the form field to show it next to."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived_codes: list[str] = field(default_factory=list)  # rows that matched an archived location

    def __str__(self) -> str:
        text = f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"
        if self.archived_codes:
            text += f"; {len(self.archived_codes)} of them archived (kept archived): {', '.join(self.archived_codes[:10])}"
        return text


@dataclass
class ImportOutcome:
    parsed: ParseResult
    summary: ImportSummary | None = None  # None: nothing was imported

    @property
    def problems(self) -> list[Problem]:
        return self.parsed.problems


def find_by_code(org_id: int, code: str) -> Location | None:
    return db.session.scalar(select(Location).where(Location.org_id == org_id, Location.code == code))


def list_locations(org_id: int, *, archived: bool = False, region: str = "", query: str = "") -> list[Location]:
    """Locations of one organisation, by code; optionally one region and a search in code, name and region."""
    stmt = select(Location).where(Location.org_id == org_id, Location.archived.is_(archived))
    if region:
        stmt = stmt.where(Location.region == region)
    if query:
        like = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(*(func.lower(col).like(like, escape="\\")
                                for col in (Location.code, Location.name, Location.region))))
    return list(db.session.scalars(stmt.order_by(Location.code)))


def active_locations(org_id: int) -> list[Location]:
    return list_locations(org_id)


def regions(org_id: int) -> list[str]:
    return list(db.session.scalars(
        select(Location.region).where(Location.org_id == org_id, Location.region != "").distinct().order_by(Location.region)
    ))


def _check_code_free(org_id: int, code: str, location_id: int | None = None) -> None:
    other = find_by_code(org_id, code)
    if other is not None and other.id != location_id:
        if other.archived:
            raise LocationError(_("Code %(code)s is already used by %(name)s (archived).", code=code, name=other.name), "code")
        raise LocationError(_("Code %(code)s is already used by %(name)s.", code=code, name=other.name), "code")


def create_location(org_id: int, code: str, name: str, region: str = "") -> Location:
    _check_code_free(org_id, code)
    location = Location(org_id=org_id, code=code, name=name, region=region or "", archived=False)
    db.session.add(location)
    db.session.flush()
    record("location.created", location, summary=f"Location {code} {name} created")
    return location


def update_location(location: Location, code: str, name: str, region: str = "") -> Location:
    _check_code_free(location.org_id, code, location.id)
    before = {"code": location.code, "name": location.name, "region": location.region}
    location.code, location.name, location.region = code, name, region or ""
    after = {"code": code, "name": name, "region": location.region}
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changed:
        db.session.flush()
        record("location.updated", location, summary=f"Location {code} {name} edited", detail=changed)
    return location


def set_archived(location: Location, archived: bool) -> Location:
    """Archived locations disappear from pickers and QR sheets; their results stay."""
    if location.archived != archived:
        location.archived = archived
        db.session.flush()
        record("location.archived" if archived else "location.unarchived", location,
               summary=f"Location {location.code} {location.name} {'archived' if archived else 'back in use'}")
    return location


def apply_rows(org_id: int, rows: Iterable[LocationRow]) -> ImportSummary:
    """Create or update by code, in the caller's transaction. The rows are already validated."""
    rows = list(rows)
    existing = {loc.code: loc for loc in db.session.scalars(select(Location).where(Location.org_id == org_id))}
    summary = ImportSummary()
    for row in rows:
        location = existing.get(row.code)
        if location is None:
            location = Location(org_id=org_id, code=row.code, name=row.name, region=row.region, archived=False)
            db.session.add(location)
            existing[row.code] = location
            summary.created += 1
            continue
        if location.archived:
            summary.archived_codes.append(row.code)
        if (location.name, location.region or "") == (row.name, row.region):
            summary.unchanged += 1
        else:
            location.name, location.region = row.name, row.region
            summary.updated += 1
    db.session.flush()
    record("location.imported", None, org_id=org_id, summary=f"Locations imported: {summary}",
           detail={"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged})
    return summary


def import_locations(org_id: int, data: bytes, filename: str) -> ImportOutcome:
    """Validate the whole file; import it only when no row has a problem."""
    parsed = parse_locations(data, filename)
    if not parsed.ok:
        return ImportOutcome(parsed)
    return ImportOutcome(parsed, apply_rows(org_id, parsed.rows))


def csv_text(value: str) -> str:
    """A spreadsheet must not run exported text as a formula: guard it with one apostrophe (the import removes it)."""
    return "'" + value if value.startswith(CSV_FORMULA_START) else value


def locations_csv(org_id: int, *, include_archived: bool = False) -> bytes:
    """The locations as code,name,region (UTF-8 with BOM, so Excel reads accents), ready to edit and re-import."""
    stmt = select(Location).where(Location.org_id == org_id)
    if not include_archived:
        stmt = stmt.where(Location.archived.is_(False))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["code", "name", "region"])
    for location in db.session.scalars(stmt.order_by(Location.code)):
        writer.writerow([csv_text(location.code), csv_text(location.name), csv_text(location.region or "")])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class QrCode:
    journey_name: str
    url: str
    svg: str  # inline SVG from segno; its <title> is escaped there


@dataclass(frozen=True)
class QrSheet:
    location: Location
    codes: list[QrCode]


def qr_svg(url: str, title: str) -> str:
    """An inline SVG QR code: medium error correction, white quiet zone, sized by CSS."""
    import segno

    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, dark="#000", light="#fff", title=title, svgclass="qr",
                          lineclass=None, omitsize=True)
    return svg.replace("<svg ", '<svg role="img" ', 1)  # its <title> is then its accessible name


def qr_sheets(locations: Iterable[Location], journeys: Iterable, start_url) -> list[QrSheet]:
    """One sheet per location with a QR code per journey; `start_url(location, journey)` gives the absolute link."""
    journeys = list(journeys)
    sheets = []
    for location in locations:
        codes = []
        for journey in journeys:
            url = start_url(location, journey)
            codes.append(QrCode(journey.name, url, qr_svg(url, f"QR code: {journey.name} at {location.name} ({location.code})")))
        sheets.append(QrSheet(location, codes))
    return sheets
