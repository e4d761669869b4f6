from flask import Blueprint

bp = Blueprint("journeys", __name__, url_prefix="/journeys")

from . import views  # noqa: E402,F401
