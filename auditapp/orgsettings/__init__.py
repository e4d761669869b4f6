"""Organisation settings for admins: name, time zone and score bands."""
from flask import Blueprint

bp = Blueprint("orgsettings", __name__)

from . import views  # noqa: E402,F401
