"""ID-token validation: signature against the provider's keys (refetched once on an unknown kid), then claims."""

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from bibliomesh_auth.federation.errors import UntrustedAnswer
from bibliomesh_auth.federation.id_token import check_id_token_claims, verify_id_token

ISSUER, CLIENT, NONCE = "https://idp.uni.example", "bibliomesh", "our-nonce"
NOW = 1_700_000_000


def claims(**changes: Any) -> dict[str, Any]:
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "s1", "iat": NOW, "exp": NOW + 300, "nonce": NONCE, **changes}
    return {name: value for name, value in body.items() if value is not None}


class Keys:
    """A provider's JWKS endpoint: what it publishes now, and how often it was asked."""

    def __init__(self, *published: RSAKey | ECKey) -> None:
        self.published = list(published)
        self.fetches = 0
        self.cached: KeySet | None = None

    async def __call__(self, refresh: bool) -> KeySet:
        if self.cached is None or refresh:
            self.fetches += 1
            self.cached = KeySet(list(self.published))
        return self.cached


def signed(key: RSAKey | ECKey, body: dict[str, Any], alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key, algorithms=[alg])


async def test_a_token_signed_by_a_published_key_for_us_is_accepted() -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    token = signed(key, claims(email="a@uni.example"))
    result = await verify_id_token(token, Keys(key), issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW)
    assert result["email"] == "a@uni.example"


async def test_an_unknown_kid_makes_us_fetch_the_keys_again_once() -> None:
    old, new = RSAKey.generate_key(2048, parameters={"kid": "old"}), ECKey.generate_key(
        "P-256", parameters={"kid": "new"})
    keys = Keys(old)
    await keys(False)
    keys.published.append(new)  # the provider rotated since our last fetch
    await verify_id_token(signed(new, claims(), "ES256"), keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE,
                          now=NOW)
    assert keys.fetches == 2
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger"})
    with pytest.raises(UntrustedAnswer, match="does not publish"):
        await verify_id_token(signed(stranger, claims()), keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE,
                              now=NOW)
    assert keys.fetches == 3  # once more, not in a loop


async def test_a_forged_signature_under_a_known_kid_is_refused() -> None:
    real, forger = (RSAKey.generate_key(2048, parameters={"kid": "k1"}) for _ in range(2))
    with pytest.raises(UntrustedAnswer, match="signature"):
        await verify_id_token(signed(forger, claims()), Keys(real), issuer=ISSUER, client_id=CLIENT, nonce=NONCE,
                              now=NOW)


async def test_garbage_is_not_a_token() -> None:
    with pytest.raises(UntrustedAnswer):
        await verify_id_token("not.a.jwt", Keys(), issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW)


@pytest.mark.parametrize("changes", [
    {"iss": "https://attacker.example"},
    {"iss": ISSUER + "/"},
    {"aud": "another-app"},
    {"aud": [CLIENT, "another-app"]},  # several audiences need azp
    {"azp": "another-app"},
    {"exp": NOW - 120},
    {"iat": NOW + 120},
    {"nonce": "replayed"},
    {"nonce": None},
    {"sub": None},
    {"exp": None},
    {"iat": None},
])
def test_claims_that_are_not_for_us_now_and_for_this_sign_in_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(UntrustedAnswer):
        check_id_token_claims(claims(**changes), issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW)


def test_small_clock_skew_is_tolerated() -> None:
    check_id_token_claims(claims(iat=NOW + 30, exp=NOW - 30), issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW)
    check_id_token_claims(claims(aud=[CLIENT, "other"], azp=CLIENT), issuer=ISSUER, client_id=CLIENT, nonce=NONCE,
                          now=NOW)
