"""Views of the visits package."""
from . import bp  # noqa: F401
