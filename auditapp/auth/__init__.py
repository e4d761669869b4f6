from flask import Blueprint

bp = Blueprint("auth", __name__)

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
