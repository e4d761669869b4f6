"""Absolute links for mail: BASE_URL when it is set, else the request's own address, else SERVER_NAME."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, **values) -> str:
    base = current_app.config.get("BASE_URL")
    if base:
        parts = urlsplit(base if "://" in base else "https://" + base)
        adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
        return adapter.build(endpoint, values, force_external=True)
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    # The command line without BASE_URL: a path is the best there is; say what to set.
    current_app.logger.warning("BASE_URL is not set: mail from the command line carries links without a host")
    return current_app.url_map.bind("localhost").build(endpoint, values)
