"""Log in and out, passwords, invites, members, API tokens and the audit log."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..audit import record
from ..extensions import db, limiter
from ..formutil import choices
from ..i18n import UI_LANGUAGES, remember_language
from ..locations.models import Location
from ..notify.delivery import deliver_request_queue, mail_configured
from ..notify.models import OutboxMessage
from ..notify.notices import queue_invite_mail
from ..notify.urls import absolute_url
from ..tenancy import admins_only, current_org, current_org_id, current_role, get_scoped_or_404, scoped
from ..timeutil import utcnow
from . import bp
from .forms import AcceptInviteForm, ConfirmForm, InviteForm, LoginForm, MemberForm, PasswordChangeForm
from .models import ROLE_LABELS, ApiToken, AuditLog, Invite, Membership, User
from .services import (
    AccountError,
    accept_invite,
    authenticate,
    change_password,
    create_api_token,
    create_invite,
    find_invite,
    record_failed_login,
    set_places,
)

HOME_BY_ROLE = {"admin": "results.index", "manager": "results.index", "regional_manager": "results.index",
                "location_manager": "results.index", "shopper": "visits.mine", "staff": "evaluations.start"}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def is_safe_next(target: str | None) -> bool:
    """Only paths on this site: no scheme, no other host, no protocol-relative //evil.example."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(urljoin(request.host_url, target))
    return parts.scheme in ("http", "https") and parts.netloc == urlsplit(request.host_url).netloc


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    endpoint = HOME_BY_ROLE.get(current_role() or "", "auth.account")
    if endpoint not in current_app.view_functions:
        endpoint = "auth.account"
    return redirect(url_for(endpoint))


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _failed_attempt(response) -> bool:
    """Only failed attempts count: a whole shop behind one address logging in at shift start is not an attack."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=_l("Too many login attempts. Wait a minute and try again."),
               deduct_when=_failed_attempt)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong email or password, or the account is not active."))
            record_failed_login(form.email.data)
            db.session.commit()
        else:
            language = session.get("language")
            session.clear()  # a fresh session on login: nothing from before carries over, but the language picked
            remember_language(user.language or language)
            login_user(user, remember=form.remember.data)
            session["org_id"] = user.memberships[0].org_id
            user.last_login_at = utcnow()
            record("user.login", user, summary=f"{user.email} logged in", org_id=user.memberships[0].org_id, user=user)
            db.session.commit()
            target = form.next.data
            if not is_safe_next(target):
                # Answers kept while logged out (evaluations/parking.py) are sent first, whatever page came next.
                kept = request.cookies.get("auditapp_parked") and "evaluations.resume" in current_app.view_functions
                target = url_for("evaluations.resume") if kept else url_for("auth.home")
            return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/language", methods=["POST"])
def change_language():
    """The interface's language, from the picker at the foot of every page: kept on the user when logged in."""
    ConfirmForm().validate_on_submit()  # CSRF is checked globally; the form is only for the token
    language = request.form.get("language", "")
    if language not in UI_LANGUAGES and language != "":
        abort(400)
    remember_language(language or None)
    if current_user.is_authenticated:
        current_user.language = language or None
        db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("auth.home"))


@bp.route("/logout", methods=["POST"])
def logout():
    ConfirmForm().validate_on_submit()  # CSRF is checked globally; the form is only for the token
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    response = redirect(url_for("auth.login", bye=1))
    # A shared phone must not show the last user's pages from the offline cache. Only the HTTP cache and the
    # service worker's caches go (app.js empties those on the login page): drafts and unsent evaluations in
    # local storage stay, so nothing typed is lost.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            change_password(current_user, form.new.data)
            db.session.commit()
            login_user(current_user._get_current_object())  # this session gets the new session version; others are logged out
            flash(_("Password changed. Other devices are logged out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, org=current_org(), role=current_role())


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept(token: str):
    invite = find_invite(token)
    if invite is None:
        return render_template("auth/invite_invalid.html"), 410
    form = AcceptInviteForm()
    if form.validate_on_submit():
        try:
            user = accept_invite(invite, form.name.data, form.password.data)
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return render_template("auth/invite_invalid.html", reason=str(error)), 410
        db.session.commit()
        session.clear()
        login_user(user)
        session["org_id"] = invite.org_id
        flash(_("Welcome to %(organisation)s.", organisation=invite.organisation.name), "success")
        return redirect(url_for("auth.home"))
    return render_template("auth/invite_accept.html", form=form, invite=invite)


def _location_choices():
    locations = db.session.scalars(scoped(Location).where(Location.archived.is_(False)).order_by(Location.name))
    return choices([("", _("None"))] + [(loc.id, f"{loc.code} {loc.name}") for loc in locations])


def _place_choices(form) -> None:
    form.location_id.choices = _location_choices()
    locations = db.session.scalars(scoped(Location).where(Location.archived.is_(False)).order_by(Location.name))
    form.place_ids.choices = choices([(loc.id, f"{loc.code} {loc.name}") for loc in locations])
    form.regions.choices = choices([(r, r) for r in _regions()])


def _regions() -> list[str]:
    return sorted(set(db.session.scalars(select(Location.region).where(Location.org_id == current_org_id(),
                                                                       Location.region != ""))))


def _location_id(value: str) -> int | None:
    if not value:
        return None
    return get_scoped_or_404(Location, value).id


@bp.route("/admin/users", methods=["GET", "POST"])
@admins_only
def users():
    org = current_org()
    form = InviteForm()
    _place_choices(form)
    link = None
    if form.validate_on_submit():
        try:
            invite, token = create_invite(org, form.email.data, form.role.data, current_user,
                                          current_app.config["INVITE_DAYS"], _location_id(form.location_id.data),
                                          location_ids=form.place_ids.data, regions=form.regions.data)
        except AccountError as error:
            getattr(form, error.field or "email").errors.append(_sentence(str(error)))
        else:
            link = absolute_url("auth.accept", token=token)
            message = queue_invite_mail(invite, link)  # in the invite's transaction: no invite without its mail
            db.session.commit()
            _flash_invite_outcome(invite, message)
            form = InviteForm(formdata=None)  # an empty form for the next person, not this one again
            _place_choices(form)
    memberships = db.session.scalars(
        select(Membership).join(User).where(Membership.org_id == org.id).order_by(User.name)
    ).all()
    invites = db.session.scalars(
        scoped(Invite).where(Invite.used_at.is_(None), Invite.expires_at > utcnow()).order_by(Invite.created_at.desc())
    ).all()
    return render_template("auth/users.html", form=form, memberships=memberships, invites=invites, link=link,
                           member_form=MemberForm(), confirm=ConfirmForm(), location_choices=_location_choices(),
                           place_choices=form.place_ids.choices, region_choices=form.regions.choices)


def _flash_invite_outcome(invite: Invite, message) -> None:
    """Send the invite mail now (the outbox keeps it either way) and say what happened."""
    try:
        deliver_request_queue()
    except Exception:  # noqa: BLE001 (the invite exists; the mail waits in the outbox)
        current_app.logger.exception("sending the invite mail failed")
    status = db.session.get(OutboxMessage, message.id).status if message is not None else None
    if status == "sent":
        flash(_("Invite for %(email)s created and mailed. The link below is shown only once.", email=invite.email),
              "success")
    elif status is not None and mail_configured():
        flash(_("Invite for %(email)s created, but the mail could not be sent yet: it is tried again automatically "
                "(see Outbox). Copy the link below to send it yourself: it is shown only once.", email=invite.email),
              "error")
    else:
        flash(_("Invite for %(email)s created. Copy the link below and send it: it is shown only once.",
                email=invite.email), "success")


def _membership_or_404(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.org_id != current_org_id():
        abort(404)
    return membership


def _other_active_admins(membership: Membership) -> int:
    return db.session.query(Membership).join(User).filter(
        Membership.org_id == membership.org_id, Membership.role == "admin", Membership.id != membership.id,
        User.active.is_(True)).count()


@bp.route("/admin/users/<int:membership_id>/role", methods=["POST"])
@admins_only
def set_role(membership_id: int):
    membership = _membership_or_404(membership_id)
    form = MemberForm()
    form.location_id.choices = _location_choices()
    if not form.validate_on_submit():
        flash(_("Pick one of the listed roles."), "error")
        return redirect(url_for("auth.users"))
    if membership.role == "admin" and form.role.data != "admin" and not _other_active_admins(membership):
        flash(_("The organisation needs at least one active admin: make someone else admin first."), "error")
        return redirect(url_for("auth.users"))
    old, old_places = membership.role, (membership.place_location_ids, membership.region_names)
    membership.role = form.role.data
    membership.location_id = _location_id(form.location_id.data)
    try:
        set_places(membership, location_ids=request.form.getlist("place_ids"), regions=request.form.getlist("regions"))
    except AccountError as error:
        db.session.rollback()
        flash(_("%(name)s was not changed: %(reason)s.", name=membership.user.name, reason=error), "error")
        return redirect(url_for("auth.users"))
    places = (membership.place_location_ids, membership.region_names)
    summary = f"{membership.user.email}: {old} -> {membership.role}"
    if places != old_places:
        summary += f" (locations {places[0] or '-'}, regions {', '.join(places[1]) or '-'})"
    record("user.role_changed", membership.user, summary=summary, org_id=membership.org_id)
    db.session.commit()
    role = ROLE_LABELS.get(membership.role, membership.role)
    flash(_("%(name)s is now %(role)s.", name=membership.user.name, role=str(role).lower()), "success")
    return redirect(url_for("auth.users"))


@bp.route("/admin/users/<int:membership_id>/active", methods=["POST"])
@admins_only
def toggle_active(membership_id: int):
    membership = _membership_or_404(membership_id)
    ConfirmForm().validate_on_submit()
    user = membership.user
    if user.id == current_user.id:
        flash(_("You cannot deactivate yourself."), "error")
        return redirect(url_for("auth.users"))
    # Other organisations' users are never touched: the account is shared, so only this org's admins of it act.
    user.active = not user.active
    if not user.active:
        user.session_version = (user.session_version or 1) + 1  # logs them out everywhere
    record("user.activated" if user.active else "user.deactivated", user, summary=user.email, org_id=membership.org_id)
    db.session.commit()
    flash(_("%(name)s is active again.", name=user.name) if user.active else _("%(name)s is deactivated.", name=user.name),
          "success")
    return redirect(url_for("auth.users"))


@bp.route("/admin/invites/<int:invite_id>/revoke", methods=["POST"])
@admins_only
def revoke_invite(invite_id: int):
    invite = get_scoped_or_404(Invite, invite_id)
    ConfirmForm().validate_on_submit()
    invite.expires_at = utcnow()
    record("user.invite_revoked", invite, summary=invite.email)
    db.session.commit()
    flash(_("Invite for %(email)s revoked.", email=invite.email), "success")
    return redirect(url_for("auth.users"))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """Each user manages their own API tokens; a token acts as its user with that user's role."""
    from .forms import TokenForm

    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _api_token, new_token = create_api_token(current_user, current_org_id(), form.name.data)
        db.session.commit()
        flash(_("Token created. Copy it now: it is shown only once."), "success")
        form = TokenForm(formdata=None)  # empty again: a second click must not make a second token
    mine = db.session.scalars(
        scoped(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("auth/tokens.html", form=form, tokens=mine, new_token=new_token, confirm=ConfirmForm())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    api_token = get_scoped_or_404(ApiToken, token_id)
    if api_token.user_id != current_user.id and current_role() != "admin":
        abort(404)
    ConfirmForm().validate_on_submit()
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        record("token.revoked", api_token, summary=f"API token '{api_token.name}' revoked")
        db.session.commit()
    flash(_("Token revoked."), "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/admin/audit")
@admins_only
def audit_log():
    page = min(max(request.args.get("page", 1, type=int), 1), 10**9)  # a larger offset cannot be bound
    entries = db.session.scalars(
        scoped(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(100).offset((page - 1) * 100)
    ).all()
    return render_template("auth/audit.html", entries=entries, page=page)


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon."""
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)
