"""The routes anyone may call without an access token. Everything else needs a valid bearer token at the edge.

This is the one list. A token sent to a public route is still checked (a bad one is a 401 here too), so callers
that sign their calls are rate-limited as themselves. `{name}` matches one path segment, a trailing `/**`
anything below. HEAD is allowed wherever GET is, and OPTIONS wherever any method is (the service answers it, so
a caller gets the same answer with a token or without). A test checks this list against the services' OpenAPI
documents: every operation a service serves without a bearer token is here, and nothing else is.
"""

from __future__ import annotations

import re

PUBLIC_ROUTES: tuple[str, ...] = (
    # OpenID Connect discovery, and the keys every token is checked with.
    "GET /.well-known/**",
    "GET /auth/jwks",
    # Getting tokens, and the OAuth endpoints whose callers authenticate as clients (HTTP Basic or form fields);
    # userinfo may also carry its token in a form body (RFC 6750 §2.2). Auth checks all of them itself.
    "POST /auth/token",
    "POST /auth/introspect",
    "POST /auth/revoke",
    "GET /auth/userinfo",
    "POST /auth/userinfo",
    # Browser sign-in pages.
    "GET /auth/authorize",
    "GET /auth/callback",
    "POST /auth/login",
    # The directory of institutions.
    "GET /auth/institutions",
    "GET /auth/institutions/{code}",
    # The union catalogue, like an OPAC, and its protocols for discovery tools and harvesters.
    "GET /catalog/search",
    "GET /catalog/sru",
    "POST /catalog/sru",
    "GET /catalog/oai",
    "POST /catalog/oai",
    "GET /catalog/openurl",
    "GET /catalog/holders",
    "GET /catalog/clusters/{cluster_id}",
    # ISO 18626 peers outside the platform authenticate inside the XML message.
    "POST /ill/iso18626",
    # Each service's own OpenAPI document (the gateway's merged one is at /openapi.json).
    "GET /{service}/openapi.json",
)


def compile_routes(routes: tuple[str, ...]) -> dict[str, re.Pattern[str]]:
    """One regular expression per method, matching any of `routes`."""
    by_method: dict[str, list[str]] = {}
    for route in routes:
        method, path = route.split(" ", 1)
        pattern = re.escape(path).replace(r"/\*\*", "(?:/.*)?")
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", pattern)
        for verb in (method, "HEAD", "OPTIONS") if method == "GET" else (method, "OPTIONS"):
            by_method.setdefault(verb, []).append(pattern)
    return {method: re.compile("|".join(f"(?:{p})" for p in patterns)) for method, patterns in by_method.items()}


_PUBLIC = compile_routes(PUBLIC_ROUTES)


def is_public(method: str, path: str) -> bool:
    pattern = _PUBLIC.get(method)
    return pattern is not None and pattern.fullmatch(path) is not None
