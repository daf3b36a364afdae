"""API-key check: ``Authorization: Bearer <key>`` compared in constant time. No web imports."""

from __future__ import annotations

import secrets

from modelport.errors import AuthenticationError

# Paths that stay open when a key is set: probes for load balancers and orchestrators, and the
# API documentation (it shows no data).
OPEN_PATHS = frozenset({"/ping", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
# The web UI's page and its static files hold no data either: the page asks for the key and
# sends it with every call to /ui/api and /v1.
OPEN_PREFIXES = ("/ui/static/",)
OPEN_UI_PAGES = frozenset({"/ui", "/ui/"})


def is_open_path(path: str) -> bool:
    """Whether ``path`` is answered without the API key."""
    return path in OPEN_PATHS or path in OPEN_UI_PAGES or path.startswith(OPEN_PREFIXES)


def check_api_key(authorization: str | None, expected: str) -> None:
    """Raise :class:`AuthenticationError` unless ``authorization`` is ``Bearer <expected>``."""
    if not authorization:
        raise AuthenticationError(
            "Missing API key: send it as 'Authorization: Bearer <key>' "
            "(the openai SDK does this with api_key=...)"
        )
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise AuthenticationError(
            "The Authorization header must be 'Bearer <key>', got another form"
        )
    if not secrets.compare_digest(given.strip().encode(), expected.encode()):
        raise AuthenticationError("Incorrect API key provided")
