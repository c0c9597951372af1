"""Provider metadata is used only if it is for exactly the configured issuer and its endpoints are usable."""

from typing import Any

import pytest

from bibliomesh_auth.federation.client import authorization_url, s256_challenge
from bibliomesh_auth.federation.discovery import discovery_url, issuer_problem, parse_metadata
from bibliomesh_auth.federation.errors import ProviderUnavailable

ISSUER = "https://idp.uni.example"


def document(**changes: Any) -> dict[str, Any]:
    return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth", "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks", "userinfo_endpoint": f"{ISSUER}/me", **changes}


def test_usable_metadata_is_read() -> None:
    metadata = parse_metadata(ISSUER, document(), require_https=True)
    assert metadata.token_endpoint == f"{ISSUER}/token" and metadata.userinfo_endpoint == f"{ISSUER}/me"
    assert parse_metadata(ISSUER, document(userinfo_endpoint=None), require_https=True).userinfo_endpoint is None


@pytest.mark.parametrize("changes", [
    {"issuer": "https://attacker.example"},
    {"issuer": ISSUER + "/"},
    {"token_endpoint": None},
    {"jwks_uri": "http://idp.uni.example/jwks"},  # http in production
    {"code_challenge_methods_supported": ["plain"]},
])
def test_metadata_for_another_issuer_or_without_safe_endpoints_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ProviderUnavailable):
        parse_metadata(ISSUER, document(**changes), require_https=True)


def test_issuers_need_https_in_production_and_no_query() -> None:
    assert issuer_problem("https://idp.uni.example/realms/main", require_https=True) is None
    assert issuer_problem("http://idp.uni.example", require_https=True) == "must be an https URL"
    assert issuer_problem("http://127.0.0.1:9000", require_https=False) is None
    assert issuer_problem("https://idp.uni.example?x=1", require_https=False) is not None
    assert issuer_problem("not a url", require_https=False) is not None


def test_discovery_lives_under_the_issuer() -> None:
    assert discovery_url(ISSUER + "/") == f"{ISSUER}/.well-known/openid-configuration"


def test_the_authorization_url_carries_our_state_nonce_and_s256_challenge() -> None:
    metadata = parse_metadata(ISSUER, document(authorization_endpoint=f"{ISSUER}/auth?tenant=1"), require_https=True)
    url = authorization_url(metadata, client_id="us", redirect_uri="https://mesh.example/auth/callback",
                            scopes="openid email", state="st", nonce="no", code_verifier="v" * 64)
    assert url.startswith(f"{ISSUER}/auth?tenant=1&response_type=code&client_id=us")
    assert f"code_challenge={s256_challenge('v' * 64)}" in url and "code_challenge_method=S256" in url
    # RFC 7636 appendix B's example
    verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert s256_challenge(verifier) == challenge
