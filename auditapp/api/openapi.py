"""API endpoints: openapi (contract section 4)."""
from . import bp  # noqa: F401
