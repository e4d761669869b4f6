"""Views of the exports package."""
from . import bp  # noqa: F401
