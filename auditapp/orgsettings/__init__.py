"""Organisation settings for admins: name, time zone, score bands and how visit reports name the shopper."""
from flask import Blueprint

bp = Blueprint("orgsettings", __name__)

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
