from flask import Blueprint

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
