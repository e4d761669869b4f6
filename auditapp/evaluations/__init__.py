from flask import Blueprint

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")

from . import views  # noqa: E402,F401
