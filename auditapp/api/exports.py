"""API endpoints: exports (contract section 4: scorecard.xlsx)."""
from . import bp  # noqa: F401
