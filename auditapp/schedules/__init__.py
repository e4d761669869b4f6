"""Scheduled scorecards: a manager subscribes recipients to a journey's Excel scorecard, weekly or monthly, sent by the
queue's periodic sweep exactly once per period (a unique (schedule, period) row claims each send)."""
from flask import Blueprint

bp = Blueprint("schedules", __name__, url_prefix="/schedules")
