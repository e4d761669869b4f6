"""Views of the results package."""
from . import bp  # noqa: F401
