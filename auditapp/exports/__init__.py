from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/exports")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
