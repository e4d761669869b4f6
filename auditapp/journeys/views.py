"""Views of the journeys package."""
from . import bp  # noqa: F401
