from flask import Blueprint

bp = Blueprint("visits", __name__, url_prefix="/visits")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
