"""Organisation settings for admins: name, time zone and score bands."""
from flask import Blueprint

bp = Blueprint("orgsettings", __name__)

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
