from flask import Blueprint

bp = Blueprint("journeys", __name__, url_prefix="/journeys")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
