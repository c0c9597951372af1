"""Validating an upstream ID token (OpenID Connect Core §3.1.3.7) with joserfc and an explicit algorithm list."""

from __future__ import annotations

from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from bibliomesh_auth.federation.client import KeySource
from bibliomesh_auth.federation.errors import UntrustedAnswer

# Asymmetric only: no `none`, and no HS* (that would make the shared client secret a signing key).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 60


async def verify_id_token(token: str, keys: KeySource, *, issuer: str, client_id: str, nonce: str,
                          leeway: int = LEEWAY_SECONDS, now: int | None = None) -> dict[str, Any]:
    """The token's claims if it is signed by one of the provider's keys and meant for us, now, for this sign-in.

    An unknown key id makes the provider's keys be fetched again, once (it may have rotated them).
    """
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError) as exc:
        raise UntrustedAnswer("the ID token is not a compact JWS") from exc
    if header.get("alg") not in ALGORITHMS:
        raise UntrustedAnswer(f"the ID token is signed with {header.get('alg')!r}, which is not accepted")
    key_set = await keys(False)
    kid = header.get("kid")
    if kid is not None and kid not in _kids(key_set):
        key_set = await keys(True)
        if kid not in _kids(key_set):
            raise UntrustedAnswer("the ID token is signed with a key the provider does not publish")
    try:
        decoded = jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, TypeError) as exc:
        raise UntrustedAnswer(f"the ID token signature does not verify: {type(exc).__name__}") from exc
    check_id_token_claims(decoded.claims, issuer=issuer, client_id=client_id, nonce=nonce, leeway=leeway, now=now)
    return decoded.claims


def check_id_token_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str,
                          leeway: int = LEEWAY_SECONDS, now: int | None = None) -> None:
    """iss exactly, aud containing us, azp (when present) naming us, exp/iat within the leeway, our nonce."""
    registry = jwt.JWTClaimsRegistry(
        now=now, leeway=leeway,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise UntrustedAnswer(f"the ID token's claims are not acceptable: {exc.error}: {exc.description}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise UntrustedAnswer("the ID token was issued to another party (azp)")
    if len(audiences) > 1 and azp is None:
        raise UntrustedAnswer("the ID token has several audiences but no azp")


def _kids(key_set: KeySet) -> set[str | None]:
    return {key.kid for key in key_set.keys}
