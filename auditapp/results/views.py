"""Results pages: journeys overview, the per-journey dashboard, drill-down and action plans. Managers only."""
from __future__ import annotations

from dataclasses import replace

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
from . import bp, dashboard
from . import cache as dashboard_cache
from .action_rules import allowed_transitions, days_late, is_overdue
from .actions import (
    ACTIVE_STATUSES,
    ActionData,
    ActionError,
    create_action,
    history,
    is_manager,
    journey_actions,
    my_actions,
    overdue_actions,
    owner_candidates,
    transition,
    update_action,
    visible_to,
)
from .forms import ACTION_STATUS_LABELS, ActionForm, DoneForm, FilterForm, ReasonForm
from .models import Action, ActionEvent
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
from .where import critical_fail_items, item_failures

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
    preset = PERIOD_PRESETS.get(filters.period or "", "") if filters.period not in (None, "custom") else ""
    parts = [_(preset) if preset else ""]
    if filters.date_from or filters.date_to:
        parts.append(_("%(start)s to %(end)s", start=filters.date_from or _("start"), end=filters.date_to or _("today")))
    else:
        parts.append(_("all time"))
    if filters.location_id:
        parts.append(names.get(filters.location_id, _("one location")))
    if filters.region:
        parts.append(_("region %(region)s", region=filters.region))
    parts.extend(_(value).lower() for _label, value in filters.describe())
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
        form.grain.errors = [_("Choose weeks or months.")]
        return render_template("results/dashboard.html", journey=journey, form=form, page=None), 422

    bands = org.bands
    numbers = dashboard_cache.dashboard(org, filters, grain)  # every section, sharing their scans
    card = numbers.scorecard
    can_plan = current_role() in MANAGERS  # actions are planned by the organisation's managers
    today = dashboard.today_for(org)
    actions = journey_actions(org.id, journey.id, scope=scope, user_id=current_user.id)
    open_by_moment: dict[str, list[Action]] = {}
    for action in actions:
        if action.status in ACTIVE_STATUSES:
            open_by_moment.setdefault(action.moment_key, []).append(action)
    overdue = overdue_actions(org.id, today, scope=scope, user_id=current_user.id, journey_id=journey.id)
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
    today = dashboard.today_for(org)
    trend_data = numbers.trend
    rolled_up = None
    if grain == "week" and len(trend_data.periods) > dashboard.MAX_WEEKS:  # too many points to read: months
        rolled_up = len(trend_data.periods)
        # The monthly page's numbers, from the cache when someone looked at them lately.
        grain, trend_data = "month", dashboard_cache.dashboard(org, filters, "month").trend
    overall_trend, moment_trends = dashboard.trend_charts(trend_data, bands, actions, org.timezone, today=today,
                                                          filters=filters)
    drill = lambda key, location_id=None: url_for(  # noqa: E731
        ".evaluations", journey_id=journey.id, moment=key,
        **({**base, "location_id": str(location_id)} if location_id else base))
    where_cells = dashboard.worst_cells(heat, bands, link=lambda location_id, key: drill(key, location_id))
    where_items = dashboard.where_items(item_failures(org, filters, today=today), link=drill)
    for row in rows:
        row.trend_chart = moment_trends.get(row.stats.key)
    from ..disputes.rules import BASELINE_TEXT
    from ..disputes.services import query_rates

    rate_rows, rate_total = dashboard.query_rate_rows(*query_rates(org, filters))
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
        "where_cells": where_cells,
        "where_items": where_items,
        "weakest_col": dashboard.weakest_column(heat),
        "heat_wide": len(heat.moments) > 5,
        "rolled_up": rolled_up,
        "heat": heat,
        "trend": overall_trend,
        "grain": grain,
        "gap_chart": dashboard.gap_chart(gaps, bands),
        "gaps": [(g, dashboard.gap_text(g)) for g in gaps],
        "gap_flagged": [g for g in gaps if g.flagged],
        "gap_threshold": int(GAP_THRESHOLD),
        "praise": praise,
        "query_rates": rate_rows,
        "query_total": rate_total,
        "query_baseline": BASELINE_TEXT,
        "praise_links": {lp.location.id: url_for(".evaluations", journey_id=journey.id,
                                                 **{**base, "location_id": str(lp.location.id)}) for lp in praise},
        "signal": {"alpha": SIGNAL_ALPHA, "min_change": SIGNAL_MIN_CHANGE, "min_n": SIGNAL_MIN_N},
        "open_actions": [a for a in actions if a.status in ACTIVE_STATUSES],
        "overdue_count": len(overdue),
        "weak_cells": dashboard.weak_cells(
            heat, bands, link=lambda location_id, key: url_for(".new_action", journey_id=journey.id, moment=key,
                                                               location_id=location_id)) if can_plan else [],
        "today": today,
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
        abort(400, description=_("The link's filters are not valid: %(error)s", error=error))
    moment_key = request.args.get("moment") or None
    try:
        page_no = min(max(1, int(request.args.get("page", "1"))), 10**9)  # a larger offset cannot be bound
    except ValueError:
        page_no = 1
    drill = drilldown(org, filters, moment_key=moment_key, limit=DRILL_PAGE, offset=(page_no - 1) * DRILL_PAGE)
    if moment_key and drill.moment is None:
        abort(404)
    locations = _places(org.id)[0]
    base = _filter_args(filters, moment=moment_key)
    scope_filters = replace(filters, location_id=drill.location.id) if drill.location else filters
    items = item_failures(org, scope_filters, moment_key=moment_key) if moment_key else []
    failed_items = critical_fail_items(org, filters, [i.evaluation_id for i in drill.items if i.critical_fail],
                                       moment_key=moment_key)
    return render_template(
        "results/evaluations.html", journey=journey, drill=drill, filters=filters,
        label=_filters_label(filters, locations), bands=org.bands,
        back_url=url_for(".journey", journey_id=journey.id, **_filter_args(filters)),
        next_url=url_for(".evaluations", journey_id=journey.id, page=page_no + 1, **base) if drill.has_more else None,
        prev_url=url_for(".evaluations", journey_id=journey.id, page=page_no - 1, **base) if page_no > 1 else None,
        action_url=url_for(".new_action", journey_id=journey.id, moment=moment_key, location_id=filters.location_id)
        if moment_key and current_role() in MANAGERS else None,
        plan_url=_drill_plan_url(journey.id, moment_key, org.bands) if moment_key and current_role() in MANAGERS
        else None,
        score_text=dashboard.score_text, band_of=dashboard.band_of, visit_url=_visit_url,
        items=items, failed_items=failed_items, low_n=LOW_N, percent=dashboard.shown,
    )


def _drill_plan_url(journey_id: int, moment_key: str, bands):
    """For a failed moment of one visit (a critical fail or a miserable score): a link that starts an action on it."""

    def plan(item) -> str | None:
        if not (item.critical_fail or dashboard.band_of(item.moment_score, bands) == "miserable"):
            return None
        return url_for(".new_action", journey_id=journey_id, moment=moment_key, location_id=item.location.id,
                       evaluation_id=item.evaluation_id)

    return plan


def _visit_url(evaluation_id: int) -> str:
    """Where one evaluation opens: the review page for managers, the site's read-only visit page otherwise."""
    if current_role() in MANAGERS:
        return url_for("visits.review_detail", evaluation_id=evaluation_id)
    return url_for("sites.visit", evaluation_id=evaluation_id)


# --- corrective actions --------------------------------------------------------------------------------------
#
# Managers create, edit, verify, reopen and drop actions; the owner (often a location manager) marks them done with
# evidence. A place-scoped manager sees the actions of their own places (actions.visible_to); anything else is 404.

# What a step says once done (lazy: made at import, translated when flashed; a flash needs a str, the session is JSON).
STEP_MESSAGES = {"done": _l("Marked done."), "verify": _l("Verified."), "reopen": _l("Reopened: open again."),
                 "drop": _l("Dropped.")}


def _visible_action_or_404(action_id: int) -> Action:
    action = get_scoped_or_404(Action, action_id)
    if not visible_to(action, place_scope(), current_user.id):
        abort(404)
    return action


def _moment_names(journey: Journey, keys) -> dict[str, str]:
    return {m.key: m.name for m in journey_moments(journey, set(keys))}


def _question_texts(journey: Journey) -> dict[tuple[str, str], str]:
    version = journey.current_version
    if version is None:
        return {}
    return {(m.key, q.key): q.text for m in version.moments for q in m.questions}


@bp.get("/journeys/<int:journey_id>/actions")
@result_viewers
def actions(journey_id: int):
    org = current_org()
    journey = get_scoped_or_404(Journey, journey_id)
    show_all = request.args.get("show") == "all"
    items = journey_actions(org.id, journey.id, open_only=not show_all, scope=place_scope(), user_id=current_user.id)
    return render_template("results/actions.html", journey=journey, actions=items, show_all=show_all,
                           names=_moment_names(journey, {a.moment_key for a in items}),
                           questions=_question_texts(journey), status_labels=ACTION_STATUS_LABELS,
                           today=dashboard.today_for(org), can_plan=current_role() in MANAGERS, is_overdue=is_overdue)


def _prefill_location(org_id: int) -> int | None:
    raw = (request.args.get("location_id") or request.args.get("location") or "").strip()
    if not raw.isdigit():
        return None
    location = db.session.get(Location, int(raw))
    return location.id if location is not None and location.org_id == org_id else None


def _prefill_evaluation(org_id: int, journey_id: int, raw) -> int | None:
    """An evaluation id from a link or the hidden field: kept only when it is this journey's, in this organisation."""
    from ..evaluations.models import Evaluation

    raw = str(raw or "").strip()
    if not raw.isdigit() or int(raw) >= 2**63:
        return None
    evaluation = db.session.get(Evaluation, int(raw))
    if evaluation is None or evaluation.org_id != org_id or evaluation.journey_id != journey_id:
        return None
    return evaluation.id


def _action_form(journey: Journey, org, action: Action | None = None) -> ActionForm:
    form = ActionForm(obj=action) if action is not None else ActionForm()
    if request.method == "POST":
        owner_location = form.location_id.data or None
    elif action is not None:
        owner_location = action.location_id
    else:
        owner_location = _prefill_location(org.id)
    owner_location = int(owner_location) if owner_location and str(owner_location).isdigit() else None
    first, others = owner_candidates(org.id, owner_location)
    if action is not None and action.owner is not None and action.owner not in first + others:
        others.append(action.owner)  # the current owner stays choosable even if their role changed
    keys = {action.moment_key} if action is not None else set()
    moments = journey_moments(journey, keys)
    names = {m.key: m.name for m in moments}
    questions = [(mk, names.get(mk, mk), qk, text) for (mk, qk), text in _question_texts(journey).items()]
    wanted = None
    if action is not None and action.question_key:
        wanted = (action.moment_key, action.question_key)
    elif action is None and request.args.get("question") and request.args.get("moment"):
        wanted = (request.args["moment"], request.args["question"])
    if wanted and wanted not in {(mk, qk) for mk, _name, qk, _text in questions}:
        questions.append((wanted[0], names.get(wanted[0], wanted[0]), wanted[1], wanted[1]))
    form.set_choices(moments, _places(org.id)[0], questions, first, others)
    if request.method == "GET":
        if action is not None:
            form.location_id.data = str(action.location_id or "")
            form.owner_id.data = str(action.owner_id or "")
            form.question.data = f"{action.moment_key}.{action.question_key}" if action.question_key else ""
            form.evaluation_id.data = str(action.evaluation_id or "")
        else:
            form.moment_key.data = request.args.get("moment") or None
            form.location_id.data = str(owner_location or "")
            form.question.data = f"{wanted[0]}.{wanted[1]}" if wanted else ""
            form.owner_id.data = str(first[0].id) if first else ""
            form.started_on.data = dashboard.today_for(org)
            form.evaluation_id.data = str(_prefill_evaluation(org.id, journey.id, request.args.get("evaluation_id"))
                                          or "")
    return form


def _action_data(form: ActionForm, org_id: int, journey_id: int) -> ActionData:
    question = form.question.data or ""
    return ActionData(moment_key=form.moment_key.data, idea=form.idea.data or "",
                      definition_of_done=form.definition_of_done.data or "",
                      owner_id=int(form.owner_id.data) if (form.owner_id.data or "").isdigit() else None,
                      location_id=int(form.location_id.data) if (form.location_id.data or "").isdigit() else None,
                      question_key=question.split(".", 1)[1] if "." in question else None,
                      evaluation_id=_prefill_evaluation(org_id, journey_id, form.evaluation_id.data),
                      started_on=form.started_on.data, due_date=form.due_date.data)


@bp.route("/journeys/<int:journey_id>/actions/new", methods=["GET", "POST"])
@managers_only
def new_action(journey_id: int):
    org = current_org()
    journey = get_scoped_or_404(Journey, journey_id)
    form = _action_form(journey, org)
    status = 200
    if form.is_submitted():
        status = 422
    if form.validate_on_submit():
        try:
            action = create_action(org.id, journey.id, _action_data(form, org.id, journey.id), user=current_user,
                                   today=dashboard.today_for(org))
        except ActionError as error:
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, error.message]
        else:
            db.session.commit()
            flash(_("Action added for %(owner)s, due %(date)s. The trend charts mark the day it is verified.",
                    owner=action.owner.name, date=action.due_date.isoformat()), "success")
            return redirect(url_for(".action_detail", action_id=action.id))
    return render_template("results/action_form.html", journey=journey, form=form, action=None), status


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@managers_only
def edit_action(action_id: int):
    org = current_org()
    action = get_scoped_or_404(Action, action_id)
    journey = get_scoped_or_404(Journey, action.journey_id)
    form = _action_form(journey, org, action)
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            changed = update_action(action, _action_data(form, org.id, journey.id), user=current_user,
                                    today=dashboard.today_for(org))
        except ActionError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, error.message]
        else:
            db.session.commit()
            flash(_("Action saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for(".action_detail", action_id=action.id))
    return render_template("results/action_form.html", journey=journey, form=form, action=action), status


def _render_action(action: Action, forms: dict | None = None, status: int = 200):
    org = current_org()
    today = dashboard.today_for(org)
    manager = is_manager(current_user, org.id)
    steps = allowed_transitions(action.status, is_manager=manager, is_owner=action.owner_id == current_user.id)
    forms = forms or {}
    forms = {"done": forms.get("done") or DoneForm(prefix="done"),
             **{name: forms.get(name) or ReasonForm(prefix=name) for name in ("verify", "reopen", "drop")}}
    forms["verify"].note.label.text = _("Note (optional)")
    forms["reopen"].note.label.text = _("Why reopen it?")
    forms["drop"].note.label.text = _("Why drop it?")
    journey = action.journey
    names = _moment_names(journey, {action.moment_key})
    question = _question_texts(journey).get((action.moment_key, action.question_key or ""), action.question_key)
    return render_template(
        "results/action.html", action=action, journey=journey, moment_name=names.get(action.moment_key,
                                                                                     action.moment_key),
        question=question, status_labels=ACTION_STATUS_LABELS, history=history(action), steps=steps, forms=forms,
        overdue=is_overdue(action.status, action.due_date, today), late=days_late(action.due_date, today),
        can_edit=manager, visit_url=_action_visit_url(action)), status


def _action_visit_url(action: Action) -> str | None:
    """The visit the action came from, when this viewer may open it."""
    if action.evaluation_id is None:
        return None
    if current_role() in MANAGERS:
        return url_for("visits.review_detail", evaluation_id=action.evaluation_id)
    from ..evaluations.models import Evaluation
    from ..evaluations.services import visible_evaluations

    seen = db.session.scalar(visible_evaluations(current_org().id, current_user, current_role())
                             .where(Evaluation.id == action.evaluation_id, Evaluation.source == "shopper",
                                    Evaluation.status == "approved"))
    return url_for("sites.visit", evaluation_id=action.evaluation_id) if seen is not None else None


@bp.get("/actions/<int:action_id>")
@result_viewers
def action_detail(action_id: int):
    return _render_action(_visible_action_or_404(action_id))


@bp.post("/actions/<int:action_id>/<any(done, verify, reopen, drop):step>")
@result_viewers
def action_step(action_id: int, step: str):
    """Mark done (the owner or a manager, with evidence), verify, reopen or drop (managers, with a reason)."""
    action = _visible_action_or_404(action_id)
    form = DoneForm(prefix="done") if step == "done" else ReasonForm(prefix=step)
    if not form.validate_on_submit():
        return _render_action(action, {step: form}, 422)
    photo = getattr(form, "photo", None)
    upload = photo.data if photo is not None and getattr(photo.data, "filename", "") else None
    try:
        transition(action, step, user=current_user, note=form.note.data or "", photo_upload=upload,
                   config=current_app.config)
    except ActionError as error:
        db.session.rollback()
        if error.field in ("who", "status"):  # not theirs to do (403), or not from this state (409): say so
            flash(error.message, "error")
            return _render_action(action, {step: form}, 403 if error.field == "who" else 409)
        target = form.photo if error.field == "photo" and photo is not None else form.note
        target.errors = [*target.errors, error.message]
        return _render_action(action, {step: form}, 422)
    db.session.commit()
    flash(str(STEP_MESSAGES[step]), "success")
    return redirect(url_for(".action_detail", action_id=action.id))


@bp.get("/actions/<int:action_id>/photos/<public_id>")
@result_viewers
def action_photo(action_id: int, public_id: str):
    """An evidence photo, to those who may see the action."""
    from flask import Response

    from ..evaluations.models import Photo
    from ..evaluations.photos import photo_path

    action = _visible_action_or_404(action_id)
    photo = db.session.scalar(select(Photo).join(ActionEvent, ActionEvent.photo_id == Photo.id)
                              .where(ActionEvent.action_id == action.id, Photo.public_id == public_id,
                                     Photo.org_id == action.org_id))
    if photo is None:
        abort(404)
    path = photo_path(current_app.config, photo)
    if not path.is_file():
        abort(404, description=_("The photo file is missing."))
    response = Response(path.read_bytes(), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _list_rows(items: list[Action], today) -> list[dict]:
    journeys = {a.journey_id: a.journey for a in items}
    names = {jid: _moment_names(j, {a.moment_key for a in items if a.journey_id == jid}) for jid, j in journeys.items()}
    return [{"action": a, "moment": names[a.journey_id].get(a.moment_key, a.moment_key),
             "overdue": is_overdue(a.status, a.due_date, today), "late": days_late(a.due_date, today)} for a in items]


@bp.get("/actions/mine")
@result_viewers
def my_actions_page():
    """The actions I own that still need me, overdue first (and those waiting for a manager's verification)."""
    org = current_org()
    today = dashboard.today_for(org)
    items = my_actions(org.id, current_user.id, today, include_done=True)
    return render_template("results/my_actions.html", rows=_list_rows(items, today), today=today,
                           status_labels=ACTION_STATUS_LABELS)


@bp.get("/actions/overdue")
@result_viewers
def overdue():
    """Every overdue action the viewer may see (a place-scoped manager: their places'), most overdue first."""
    org = current_org()
    today = dashboard.today_for(org)
    journey = None
    if request.args.get("journey_id"):
        journey = get_scoped_or_404(Journey, request.args.get("journey_id"))
    items = overdue_actions(org.id, today, scope=place_scope(), user_id=current_user.id,
                            journey_id=journey.id if journey else None)
    return render_template("results/overdue.html", rows=_list_rows(items, today), today=today, journey=journey,
                           status_labels=ACTION_STATUS_LABELS)
