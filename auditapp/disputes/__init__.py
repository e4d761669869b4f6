"""Disputes: a location or regional manager queries one answer of an approved secret-shopper visit of their own
places, within the organisation's window after approval; the organisation's reviewers accept it (the answer changes
and the scores are recomputed, with history) or decline it, and both sides talk in a thread on the dispute's page."""
from flask import Blueprint

bp = Blueprint("disputes", __name__, url_prefix="/disputes")

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
