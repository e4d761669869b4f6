"""The audited sites' side: a location or regional manager's visits (reviewed secret-shopper visits of their own
places), each with its read-only page and report."""
from flask import Blueprint

bp = Blueprint("sites", __name__, url_prefix="/sites")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
