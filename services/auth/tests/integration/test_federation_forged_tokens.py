"""ID tokens a real provider would never issue (wrong signature, audience, issuer, time, nonce, algorithm), served
by a small fake provider on an httpx transport, refused at the callback with a page and no code for the app."""

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import OctKey

from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.settings import AuthSettings
from meshkit.testing import running
from services.auth.tests.idp.fake_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    FakeProvider,
    configure_fake_provider,
    rsa_key,
    use_fake_provider,
)
from services.auth.tests.idp.signin_flow import (
    PUBLIC_URL,
    UNI,
    add_app_client,
    answer_of,
    authorize_query,
    claims_of,
    pkce_pair,
    redeem,
    register_institutions,
    run_sql,
)

from .conftest import admin_headers


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def app(settings: AuthSettings, fake: FakeProvider) -> FastAPI:
    app = create_app(settings=settings.model_copy(update={"public_url": PUBLIC_URL}), migrate=True)
    use_fake_provider(app, fake)
    return app


@pytest.fixture
async def auth(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        admin = await admin_headers(client)
        await register_institutions(client, admin, UNI)
        await configure_fake_provider(client, admin)
        await add_app_client(app)
        yield client


async def come_back_from_provider(auth: httpx.AsyncClient, fake: FakeProvider, challenge: str | None = None
                                  ) -> httpx.Response:
    challenge = challenge or pkce_pair()[1]
    to_idp = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"]))
    assert to_idp.status_code == 302 and to_idp.headers["location"].startswith(f"{ISSUER}/authorize?")
    sent = httpx.URL(to_idp.headers["location"]).params
    fake.nonce = sent["nonce"]
    return await auth.get("/auth/callback", params={"state": sent["state"], "code": "upstream-code"})


async def test_the_fake_provider_is_believable_when_its_token_is_right(auth: httpx.AsyncClient,
                                                                       fake: FakeProvider) -> None:
    assert answer_of(await come_back_from_provider(auth, fake))["code"]
    fake.claims = {"aud": [CLIENT_ID, "another-app"], "azp": CLIENT_ID}  # several audiences, azp names us
    assert answer_of(await come_back_from_provider(auth, fake))["code"]


@pytest.mark.parametrize("forgery", [
    "signed by a key the provider does not publish",
    "signed by an unknown key id",
    "for another audience",
    "for several audiences without azp",
    "authorized for another party",
    "from another issuer",
    "expired",
    "issued in the future",
    "with another nonce",
    "without a nonce",
    "signed with the client secret (HS256)",
    "unsigned (alg none)",
])
async def test_forged_or_misdirected_id_tokens_are_refused(auth: httpx.AsyncClient, app: FastAPI,
                                                           fake: FakeProvider, forgery: str) -> None:
    now = int(time.time())
    if forgery == "signed by a key the provider does not publish":
        fake.signing_key = rsa_key("key-1")
    elif forgery == "signed by an unknown key id":
        fake.signing_key = rsa_key("key-of-an-attacker")
    elif forgery == "signed with the client secret (HS256)":
        fake.signing_key, fake.algorithm = OctKey.import_key(CLIENT_SECRET * 2), "HS256"
    elif forgery == "unsigned (alg none)":
        fake.algorithm = "none"
    else:
        fake.claims = {
            "for another audience": {"aud": "another-app"},
            "for several audiences without azp": {"aud": [CLIENT_ID, "another-app"]},
            "authorized for another party": {"azp": "another-app"},
            "from another issuer": {"iss": "https://attacker.example"},
            "expired": {"iat": now - 900, "exp": now - 600},
            "issued in the future": {"iat": now + 600},
            "with another nonce": {"nonce": "not-ours"},
            "without a nonce": {"nonce": None},
        }[forgery]
    response = await come_back_from_provider(auth, fake)
    assert response.status_code == 502, response.text
    assert "location" not in response.headers and "could not be verified" in response.text
    assert await run_sql(app, "SELECT id FROM users") == []
    assert await run_sql(app, "SELECT code_hash FROM authorization_codes") == []


async def test_a_rotated_signing_key_is_fetched_once_and_accepted(auth: httpx.AsyncClient,
                                                                  fake: FakeProvider) -> None:
    assert answer_of(await come_back_from_provider(auth, fake))["code"]
    fetched = fake.jwks_fetches
    fake.published.append(rsa_key("key-2"))
    fake.signing_key = fake.published[-1]
    assert answer_of(await come_back_from_provider(auth, fake))["code"]
    assert fake.jwks_fetches == fetched + 1


async def test_the_time_the_person_authenticated_at_the_provider_is_their_auth_time(auth: httpx.AsyncClient,
                                                                                    fake: FakeProvider) -> None:
    """A single sign-on session at the provider may be hours old: that, not our callback, is when they signed in
    (OpenID Connect Core §2); a provider's clock running ahead never puts it later than now."""
    an_hour_ago = int(time.time()) - 3600
    for told, expected in ((an_hour_ago, an_hour_ago), (int(time.time()) + 3600, None), ("yesterday", None)):
        fake.claims = {"auth_time": told}
        verifier, challenge = pkce_pair()
        before = int(time.time())
        code = answer_of(await come_back_from_provider(auth, fake, challenge))["code"]
        redeemed = await redeem(auth, code, verifier)
        assert redeemed.status_code == 200, redeemed.text
        auth_time = claims_of(redeemed.json()["id_token"])["auth_time"]
        if expected is not None:
            assert auth_time == expected
        else:
            assert before <= auth_time <= int(time.time())
