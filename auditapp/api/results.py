"""API endpoints: results (contract section 4)."""
from . import bp  # noqa: F401
