from flask import Blueprint

bp = Blueprint("results", __name__, url_prefix="/results")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
