"""Locations pages for managers: list and filter, create, edit, archive, import, export, printable QR codes."""
from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..tenancy import current_org, current_org_id, get_scoped_or_404, managers_only
from . import bp
from .forms import ImportForm, LocationForm
from .models import Location
from .services import (
    LocationError,
    create_location,
    import_locations,
    list_locations,
    locations_csv,
    qr_sheets,
    regions,
    set_archived,
    update_location,
)

START_ENDPOINT = "evaluations.start"
MAX_SHOWN_PROBLEMS = 500


@bp.route("/")
@managers_only
def index():
    org_id = current_org_id()
    region = request.args.get("region", "").strip()[:200]
    query = request.args.get("q", "").strip()[:100]
    active = list_locations(org_id, region=region, query=query)
    archived = list_locations(org_id, archived=True, region=region, query=query)
    return render_template("locations/index.html", active=active, archived=archived, regions=regions(org_id),
                           region=region, query=query, show_archived=request.args.get("archived") == "1")


def _form_with_regions(obj: Location | None = None) -> LocationForm:
    form = LocationForm(obj=obj)
    form.region.render_kw = {"list": "region-options", "autocomplete": "off"}
    return form


def _save(form: LocationForm, location: Location | None) -> Location | None:
    """Create or update from a validated form; on a problem, put it next to its field and return None."""
    try:
        if location is None:
            location = create_location(current_org_id(), form.code.data, form.name.data, form.region.data)
        else:
            update_location(location, form.code.data, form.name.data, form.region.data)
        db.session.commit()
    except LocationError as error:
        db.session.rollback()
        form[error.field or "code"].errors.append(str(error))
        return None
    except IntegrityError:  # another manager took the code a moment ago
        db.session.rollback()
        form.code.errors.append(_("Code %(code)s is already used by another location.", code=form.code.data))
        return None
    return location


@bp.route("/new", methods=["GET", "POST"])
@managers_only
def new():
    form = _form_with_regions()
    if form.validate_on_submit():
        location = _save(form, None)
        if location is not None:
            flash(_("Location %(code)s %(name)s created.", code=location.code, name=location.name), "success")
            return redirect(url_for(".index"))
    return render_template("locations/edit.html", form=form, location=None, regions=regions(current_org_id()))


@bp.route("/<int:location_id>/edit", methods=["GET", "POST"])
@managers_only
def edit(location_id: int):
    location = get_scoped_or_404(Location, location_id)
    form = _form_with_regions(location)
    if form.validate_on_submit():
        if _save(form, location) is not None:
            flash(_("Location %(code)s %(name)s saved.", code=location.code, name=location.name), "success")
            return redirect(url_for(".index"))
        db.session.refresh(location)
    return render_template("locations/edit.html", form=form, location=location, regions=regions(current_org_id()))


@bp.route("/<int:location_id>/archive", methods=["POST"])
@managers_only
def archive(location_id: int):
    from ..visits.services import cancel_planned_visits  # visits build on locations, not the other way round

    location = get_scoped_or_404(Location, location_id)
    set_archived(location, True)
    cancelled = cancel_planned_visits(location.org_id, location_id=location.id, user=current_user)
    db.session.commit()
    flash(_("Location %(code)s %(name)s archived: it is no longer offered for new evaluations; its results stay.",
            code=location.code, name=location.name) + _cancelled_text(cancelled), "success")
    return redirect(url_for(".index"))


def _cancelled_text(count: int) -> str:
    if not count:
        return ""
    return " " + ngettext("%(num)d planned visit there was cancelled.", "%(num)d planned visits there were cancelled.", count)


@bp.route("/<int:location_id>/unarchive", methods=["POST"])
@managers_only
def unarchive(location_id: int):
    location = get_scoped_or_404(Location, location_id)
    set_archived(location, False)
    db.session.commit()
    flash(_("Location %(code)s %(name)s is in use again.", code=location.code, name=location.name), "success")
    return redirect(url_for(".index"))


@bp.route("/import", methods=["GET", "POST"])
@managers_only
def upload():
    form = ImportForm()
    outcome = None
    if form.validate_on_submit():
        upload_file = form.file.data
        outcome = import_locations(current_org_id(), upload_file.read(), upload_file.filename or "")
        if outcome.summary is not None:
            db.session.commit()
            flash(_imported_text(outcome.summary), "success")
            return redirect(url_for(".index"))
        db.session.rollback()
    problems = outcome.problems if outcome else []
    return render_template("locations/import.html", form=form, outcome=outcome,
                           problems=problems[:MAX_SHOWN_PROBLEMS], hidden_problems=max(len(problems) - MAX_SHOWN_PROBLEMS, 0))


def _imported_text(summary) -> str:
    counts = {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged}
    if not summary.archived_codes:
        return _("Locations imported: created %(created)d, updated %(updated)d, unchanged %(unchanged)d.", **counts)
    return _("Locations imported: created %(created)d, updated %(updated)d, unchanged %(unchanged)d; %(archived)d of them "
             "archived (kept archived): %(codes)s.", **counts, archived=len(summary.archived_codes),
             codes=", ".join(summary.archived_codes[:10]))


@bp.route("/export.csv")
@managers_only
def export_csv():
    include_archived = request.args.get("archived") == "1"
    data = locations_csv(current_org_id(), include_archived=include_archived)
    filename = f"locations-{current_org().slug}.csv"
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _start_url(location: Location, journey) -> str:
    return url_for(START_ENDPOINT, location=location.id, journey=journey.id, _external=True)


def _render_qr(locations: list[Location], title: str, location: Location | None = None):
    from ..journeys.services import published_journeys  # here, not at import: auth imports locations early

    ready = START_ENDPOINT in current_app.view_functions
    journeys = published_journeys(current_org_id()) if ready else []
    sheets = qr_sheets(locations, journeys, _start_url) if ready and journeys else []
    journeys_url = url_for("journeys.index") if "journeys.index" in current_app.view_functions else None
    return render_template("locations/qr.html", sheets=sheets, ready=ready, has_journeys=bool(journeys),
                           title=title, location=location, journeys_url=journeys_url)


@bp.route("/<int:location_id>/qr")
@managers_only
def qr(location_id: int):
    location = get_scoped_or_404(Location, location_id)
    # An archived location takes no new evaluations, so its codes would lead nowhere.
    return _render_qr([] if location.archived else [location], _("QR codes for %(name)s", name=location.name), location)


@bp.route("/qr")
@managers_only
def qr_all():
    return _render_qr(list_locations(current_org_id()), _("QR codes for all locations"))
