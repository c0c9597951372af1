"""OpenID Connect Discovery 1.0: what we need from an identity provider's metadata, checked before use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bibliomesh_auth.federation.errors import ProviderUnavailable


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


def discovery_url(issuer: str) -> str:
    """Where the metadata of `issuer` lives (Discovery §4: the issuer, less a trailing slash, plus the path)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def issuer_problem(issuer: str, *, require_https: bool) -> str | None:
    """Why `issuer` cannot be an issuer identifier (None if it can): https (http only in development), a host,
    no query or fragment."""
    parts = urlsplit(issuer)
    allowed = {"https"} if require_https else {"https", "http"}
    if parts.scheme not in allowed:
        return "must be an https URL" if require_https else "must be an http(s) URL"
    if not parts.hostname:
        return "must name a host"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None


def _usable_endpoint(url: str, *, require_https: bool) -> bool:
    parts = urlsplit(url)  # endpoints, unlike issuers, may carry a query (RFC 6749 §3.1)
    return parts.scheme in ({"https"} if require_https else {"https", "http"}) and bool(parts.hostname)


def parse_metadata(expected_issuer: str, document: Any, *, require_https: bool) -> ProviderMetadata:
    """The metadata, if it is for `expected_issuer` exactly (Discovery §4.3, the mix-up defence) and usable."""
    if not isinstance(document, dict):
        raise ProviderUnavailable("the discovery document is not a JSON object")
    if document.get("issuer") != expected_issuer:
        raise ProviderUnavailable(f"the discovery document names issuer {document.get('issuer')!r}, "
                                  f"not the configured {expected_issuer!r}")
    endpoints: dict[str, str | None] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        value = document.get(name)
        if value is None and name == "userinfo_endpoint":
            endpoints[name] = None
            continue
        if not isinstance(value, str) or not _usable_endpoint(value, require_https=require_https):
            raise ProviderUnavailable(f"the discovery document has no usable {name}")
        endpoints[name] = value
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderUnavailable("the identity provider does not support PKCE with S256")
    return ProviderMetadata(issuer=expected_issuer, authorization_endpoint=str(endpoints["authorization_endpoint"]),
                            token_endpoint=str(endpoints["token_endpoint"]), jwks_uri=str(endpoints["jwks_uri"]),
                            userinfo_endpoint=endpoints["userinfo_endpoint"])
