"""Results pages: journeys overview, the per-journey dashboard, drill-down and action plans. Managers only."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..journeys.models import Journey
from ..locations.models import Location
from ..tenancy import (
    MANAGERS,
    RESULT_VIEWERS,
    current_org,
    current_role,
    get_scoped_or_404,
    managers_only,
    place_scope,
    roles_required,
    scoped,
)
from . import bp, dashboard, queries
from .actions import ActionData, ActionError, create_action, journey_actions, update_action
from .forms import ACTION_STATUS_LABELS, ActionForm, FilterForm
from .models import Action
from .queries import (
    GAP_THRESHOLD,
    GRAINS,
    LOW_N,
    PERIOD_PRESETS,
    SIGNAL_ALPHA,
    SIGNAL_MIN_CHANGE,
    SIGNAL_MIN_N,
    FilterError,
    Filters,
    default_grain,
    drilldown,
    filters_from_args,
    journey_headlines,
    journey_moments,
)

DRILL_PAGE = 25


result_viewers = roles_required(*RESULT_VIEWERS)


def _places(org_id: int) -> tuple[list[Location], list[str]]:
    """The locations and regions the filters offer: all of the organisation's, or a place-scoped viewer's own."""
    query = scoped(Location).where(Location.archived.is_(False)).order_by(Location.name, Location.code)
    regions_query = select(Location.region).where(Location.org_id == org_id, Location.region != "")
    scope = place_scope()
    if scope is not None:
        query = query.where(Location.id.in_(sorted(scope.location_ids) or [-1]))
        regions_query = regions_query.where(Location.region.in_(sorted(scope.regions) or [""]))
    locations = list(db.session.scalars(query))
    regions = sorted(set(db.session.scalars(regions_query).all()))
    return locations, regions


def _filter_args(filters: Filters, **extra) -> dict:
    args = filters.to_args()
    args.pop("journey_id", None)
    args.update({k: v for k, v in extra.items() if v not in (None, "")})
    return args


def _filters_label(filters: Filters, locations: list[Location]) -> str:
    names = {loc.id: loc.name for loc in locations}
    parts = [PERIOD_PRESETS.get(filters.period or "", "") if filters.period not in (None, "custom") else ""]
    if filters.date_from or filters.date_to:
        parts.append(f"{filters.date_from or 'start'} to {filters.date_to or 'today'}")
    else:
        parts.append("all time")
    if filters.location_id:
        parts.append(names.get(filters.location_id, "one location"))
    if filters.region:
        parts.append(f"region {filters.region}")
    parts.extend(value.lower() for _, value in filters.describe())
    return " · ".join(p for p in parts if p)


@bp.get("/")
@result_viewers
def index():
    org = current_org()
    scope = place_scope()
    rows = [
        {"headline": h, "score": dashboard.score_text(h.score, org.bands), "band": dashboard.band_of(h.score, org.bands),
         "all_score": dashboard.score_text(h.all_score, org.bands), "low_n": h.evaluations < LOW_N}
        for h in journey_headlines(org, scope=scope)
    ]
    # The index uses the dashboard's defaults (a place-scoped viewer: approved ones, own places), and says so.
    stated = (Filters(journey_id=0, status="approved") if scope else Filters(journey_id=0)).describe()
    return render_template("results/index.html", rows=rows, days=90, stated=stated)


@bp.get("/journeys/<int:journey_id>")
@result_viewers
def journey(journey_id: int):
    org = current_org()
    journey = get_scoped_or_404(Journey, journey_id)
    args = dashboard.dashboard_args(request.args)
    form = FilterForm(formdata=MultiDict(args))
    locations, regions = _places(org.id)
    scope = place_scope()
    form.set_places(locations, regions, scoped=scope is not None)
    if scope is not None:
        args.pop("source", None)  # fixed for them: approved secret-shopper evaluations, stated on the page
        args.pop("status", None)
    try:
        filters = filters_from_args(args, org, journey_id=journey.id, scope=scope)
    except FilterError as error:
        form.show_errors(error)
        return render_template("results/dashboard.html", journey=journey, form=form, page=None), 422
    grain = args.get("grain") or default_grain(filters, dashboard.today_for(org))
    if grain not in GRAINS:
        form.grain.errors = ["Choose weeks or months."]
        return render_template("results/dashboard.html", journey=journey, form=form, page=None), 422

    bands = org.bands
    numbers = queries.dashboard(org, filters, grain)  # every section, sharing their scans
    card = numbers.scorecard
    can_plan = current_role() in MANAGERS  # actions are planned by the organisation's managers
    actions = _visible_actions(journey_actions(org.id, journey.id), scope)
    open_by_moment: dict[str, list[Action]] = {}
    for action in actions:
        if action.status in ("open", "in_progress"):
            open_by_moment.setdefault(action.moment_key, []).append(action)
    base = _filter_args(filters)
    rows = dashboard.moment_rows(
        card, bands, actions=open_by_moment,
        drill_url=lambda key: url_for(".evaluations", journey_id=journey.id, moment=key, **base),
        action_url=lambda key: url_for(".new_action", journey_id=journey.id, moment=key) if can_plan else "",
    )
    heat = numbers.heatmap
    heat_chart = dashboard.heatmap_chart(
        heat, bands,
        link=lambda location_id, key: url_for(".evaluations", journey_id=journey.id, moment=key,
                                              **{**base, "location_id": str(location_id)}),
    )
    overall_trend, moment_trends = dashboard.trend_charts(numbers.trend, bands, actions)
    for row in rows:
        row.trend_chart = moment_trends.get(row.stats.key)
    gaps, beside, praise = numbers.gap, numbers.beside, numbers.praise
    page = {
        "card": card,
        "filters": filters,
        "label": _filters_label(filters, locations),
        "head": dashboard.headline(card, bands),
        "stated": filters.describe(),
        "beside": dashboard.beside_text(beside, bands),
        "rows": rows,
        "weakest": next((r for r in rows if card.weakest_priority and r.stats.key == card.weakest_priority.key), None),
        "weakest_any": next((r for r in rows if card.weakest and r.stats.key == card.weakest.key), None),
        "has_priorities": any(r.stats.priority for r in rows),
        "flagged": [r for r in rows if r.stats.signal.flagged],
        "heatmap": heat_chart,
        "heat": heat,
        "trend": overall_trend,
        "grain": grain,
        "gap_chart": dashboard.gap_chart(gaps, bands),
        "gaps": [(g, dashboard.gap_text(g)) for g in gaps],
        "gap_flagged": [g for g in gaps if g.flagged],
        "gap_threshold": int(GAP_THRESHOLD),
        "praise": praise,
        "praise_links": {lp.location.id: url_for(".evaluations", journey_id=journey.id,
                                                 **{**base, "location_id": str(lp.location.id)}) for lp in praise},
        "signal": {"alpha": SIGNAL_ALPHA, "min_change": SIGNAL_MIN_CHANGE, "min_n": SIGNAL_MIN_N},
        "open_actions": [a for a in actions if a.status in ("open", "in_progress")],
        "moment_names": {r.stats.key: r.stats.name for r in rows},
        "bands": bands,
        "low_n": LOW_N,
        "base_args": base,
        "can_plan": can_plan,
        "scoped": scope is not None,
        # The workbook shows what this page shows: same filters and the same trend grain.
        "export_url": (url_for("exports.scorecard", **filters.to_args(), grain=grain)
                       if "exports.scorecard" in current_app.view_functions else None),
        "export_per_location_url": (url_for("exports.scorecard", **filters.to_args(), grain=grain, per_location="yes")
                                    if "exports.scorecard" in current_app.view_functions
                                    and filters.location_id is None and len(locations) > 1 else None),
    }
    return render_template("results/dashboard.html", journey=journey, form=form, page=page)


@bp.get("/journeys/<int:journey_id>/evaluations")
@result_viewers
def evaluations(journey_id: int):
    """The evaluations behind a dashboard cell (a moment, a location, or both), newest first."""
    org = current_org()
    journey = get_scoped_or_404(Journey, journey_id)
    try:
        filters = filters_from_args(request.args, org, journey_id=journey.id, scope=place_scope())
    except FilterError as error:
        abort(400, description=f"The link's filters are not valid: {error}")
    moment_key = request.args.get("moment") or None
    try:
        page_no = min(max(1, int(request.args.get("page", "1"))), 10**9)  # a larger offset cannot be bound
    except ValueError:
        page_no = 1
    drill = drilldown(org, filters, moment_key=moment_key, limit=DRILL_PAGE, offset=(page_no - 1) * DRILL_PAGE)
    if moment_key and drill.moment is None:
        abort(404)
    locations, _ = _places(org.id)
    base = _filter_args(filters, moment=moment_key)
    return render_template(
        "results/evaluations.html", journey=journey, drill=drill, filters=filters,
        label=_filters_label(filters, locations), bands=org.bands,
        back_url=url_for(".journey", journey_id=journey.id, **_filter_args(filters)),
        next_url=url_for(".evaluations", journey_id=journey.id, page=page_no + 1, **base) if drill.has_more else None,
        prev_url=url_for(".evaluations", journey_id=journey.id, page=page_no - 1, **base) if page_no > 1 else None,
        action_url=url_for(".new_action", journey_id=journey.id, moment=moment_key)
        if moment_key and current_role() in MANAGERS else None,
        score_text=dashboard.score_text, band_of=dashboard.band_of, visit_url=_visit_url,
    )


def _visit_url(evaluation_id: int) -> str:
    """Where one evaluation opens: the review page for managers, the site's read-only visit page otherwise."""
    if current_role() in MANAGERS:
        return url_for("visits.review_detail", evaluation_id=evaluation_id)
    return url_for("sites.visit", evaluation_id=evaluation_id)


def _visible_actions(actions: list[Action], scope) -> list[Action]:
    """A place-scoped viewer sees the actions of their locations and those for every location."""
    if scope is None:
        return actions
    return [a for a in actions if a.location_id is None or scope.allows(a.location_id)]


# --- action plans --------------------------------------------------------------------------------------------


@bp.get("/journeys/<int:journey_id>/actions")
@managers_only
def actions(journey_id: int):
    org = current_org()
    journey = get_scoped_or_404(Journey, journey_id)
    show_all = request.args.get("show") == "all"
    items = journey_actions(org.id, journey.id, open_only=not show_all)
    names = {m.key: m.name for m in journey_moments(journey, {a.moment_key for a in items})}
    return render_template("results/actions.html", journey=journey, actions=items, names=names, show_all=show_all,
                           status_labels=ACTION_STATUS_LABELS, today=dashboard.today_for(org))


def _action_form(journey: Journey, org_id: int, action: Action | None = None) -> ActionForm:
    form = ActionForm(obj=action) if action is not None else ActionForm()
    keys = {action.moment_key} if action is not None else set()
    form.set_choices(journey_moments(journey, keys), _places(org_id)[0])
    if request.method == "GET":
        if action is not None:
            form.location_id.data = str(action.location_id or "")
        else:
            form.moment_key.data = request.args.get("moment") or None
            form.started_on.data = dashboard.today_for(current_org())
    return form


def _action_data(form: ActionForm) -> ActionData:
    return ActionData(moment_key=form.moment_key.data, idea=form.idea.data or "", owner=form.owner.data or "",
                      location_id=int(form.location_id.data) if form.location_id.data else None,
                      started_on=form.started_on.data, due_date=form.due_date.data, status=form.status.data)


@bp.route("/journeys/<int:journey_id>/actions/new", methods=["GET", "POST"])
@managers_only
def new_action(journey_id: int):
    org = current_org()
    journey = get_scoped_or_404(Journey, journey_id)
    form = _action_form(journey, org.id)
    if form.validate_on_submit():
        try:
            create_action(org.id, journey.id, _action_data(form), user=current_user, today=dashboard.today_for(org))
        except ActionError as error:
            getattr(form, error.field).errors = [error.message]
        else:
            db.session.commit()
            flash("Action added. It is marked on the trend charts from its start date.", "success")
            return redirect(url_for(".actions", journey_id=journey.id))
    return render_template("results/action_form.html", journey=journey, form=form, action=None)


@bp.route("/actions/<int:action_id>", methods=["GET", "POST"])
@managers_only
def edit_action(action_id: int):
    org = current_org()
    action = get_scoped_or_404(Action, action_id)
    journey = get_scoped_or_404(Journey, action.journey_id)
    form = _action_form(journey, org.id, action)
    if form.validate_on_submit():
        try:
            changed = update_action(action, _action_data(form), user=current_user, today=dashboard.today_for(org))
        except ActionError as error:
            getattr(form, error.field).errors = [error.message]
        else:
            db.session.commit()
            flash("Action saved." if changed else "Nothing changed.", "success")
            return redirect(url_for(".actions", journey_id=journey.id))
    return render_template("results/action_form.html", journey=journey, form=form, action=action)
