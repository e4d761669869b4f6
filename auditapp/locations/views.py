"""Views of the locations package."""
from . import bp  # noqa: F401
