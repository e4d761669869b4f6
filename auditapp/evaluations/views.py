"""Views of the evaluations package."""
from . import bp  # noqa: F401
