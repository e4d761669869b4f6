"""The organisation settings page (admins only)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..tenancy import admins_only, current_org
from . import bp
from .forms import SettingsForm
from .services import SettingsError, time_zones, update_settings


@bp.route("/settings", methods=["GET", "POST"])
@admins_only
def edit():
    org = current_org()
    form = SettingsForm(obj=org)
    form.timezone.render_kw = {"list": "tz-options", "autocomplete": "off", "spellcheck": "false"}
    form.band_low.render_kw = form.band_high.render_kw = {"inputmode": "decimal"}
    form.dispute_window_days.render_kw = {"inputmode": "numeric"}
    if form.validate_on_submit():
        try:
            changed = update_settings(org, name=form.name.data, timezone=form.timezone.data,
                                      band_low=form.band_low.data, band_high=form.band_high.data,
                                      report_shopper_name=form.report_shopper_name.data,
                                      dispute_window_days=form.dispute_window_days.data)
        except SettingsError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Settings saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for(".edit"))
    return render_template("orgsettings/edit.html", form=form, org=org, time_zones=time_zones())
