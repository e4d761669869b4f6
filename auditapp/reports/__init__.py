"""Printable reports: the PDF visit report of one evaluation (visit.py: the content, pdf.py: HTML to PDF)."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

# Views are imported by auditapp.web.register_web, so importing visit.py or pdf.py never drags in the views.
