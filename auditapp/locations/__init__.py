from flask import Blueprint

bp = Blueprint("locations", __name__, url_prefix="/locations")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
