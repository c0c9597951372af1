"""An institution admin chooses the identity provider's issuer, and its discovery document names the other endpoints:
none of them may make the auth service reach loopback, link-local (cloud metadata) or private addresses, unless the
deployment allows private providers (server-side request forgery)."""

import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey

from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.federation.client import Federation
from bibliomesh_auth.federation.errors import ProviderUnavailable
from bibliomesh_auth.settings import AuthSettings
from meshkit import outbound_urls
from meshkit.testing import running
from services.auth.tests.idp.harness import LoopbackIdp
from services.auth.tests.idp.signin_flow import (
    CALLBACK,
    PUBLIC_URL,
    UNI,
    add_app_client,
    authorize_query,
    pkce_pair,
    register_institutions,
    run_sql,
)

from .conftest import admin_headers

PATH = f"/auth/institutions/{UNI['code']}/identity-provider"
PUBLIC_ISSUER = "https://idp.university.example"
KEY = ECKey.generate_key("P-256", {"kid": "campus-1"})


def provider_body(idp: LoopbackIdp, **changes: Any) -> dict[str, Any]:
    return {"issuer": idp.issuer, "client_id": idp.client_id, "client_secret": idp.client_secret,
            "role_rules": {"student": ["patron"]}, **changes}


def service(settings: AuthSettings, *, allow_private: bool) -> FastAPI:
    return create_app(settings=settings.model_copy(update={
        "public_url": PUBLIC_URL, "identity_provider_allow_private": allow_private}), migrate=True)


@pytest.fixture
async def guarded(settings: AuthSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The service as deployed: private providers not allowed."""
    async with running(service(settings, allow_private=False)) as client:
        await register_institutions(client, await admin_headers(client), UNI)
        yield client


async def test_a_provider_on_an_internal_address_is_refused_naming_the_issuer(guarded: httpx.AsyncClient,
                                                                               idp: LoopbackIdp) -> None:
    admin = await admin_headers(guarded)
    for issuer in (idp.issuer, idp.issuer.replace("127.0.0.1", "localhost")):  # a real provider, on loopback
        refused = await guarded.put(PATH, json=provider_body(idp, issuer=issuer), headers=admin)
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert error["field"] == "issuer" and "non-public address" in error["message"], error
    for issuer in ("http://169.254.169.254", "http://[::ffff:10.0.0.5]/realms/campus", "http://10.1.2.3:8443"):
        # An address is refused as typed even for a provider saved disabled, when nothing is fetched yet.
        staged = await guarded.put(PATH, json=provider_body(idp, issuer=issuer, enabled=False), headers=admin)
        assert staged.status_code == 422, (issuer, staged.text)
        assert staged.json()["errors"][0]["field"] == "issuer"
    assert (await guarded.get(PATH, headers=admin)).status_code == 404  # nothing was saved


async def test_a_provider_saved_while_allowed_is_not_reached_once_it_is_not(settings: AuthSettings,
                                                                            idp: LoopbackIdp) -> None:
    allowed = service(settings, allow_private=True)
    async with running(allowed) as client:
        await register_institutions(client, await admin_headers(client), UNI)
        saved = await client.put(PATH, json=provider_body(idp), headers=await admin_headers(client))
        assert saved.status_code == 200, saved.text
        await add_app_client(allowed)
    guarded = service(settings, allow_private=False)  # the same database, the deployment no longer allows it
    async with running(guarded) as client:
        _verifier, challenge = pkce_pair()
        page = await client.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"]))
        assert page.status_code == 502 and "location" not in page.headers, page.text
    (refusal,) = await run_sql(guarded, "SELECT detail FROM audit_events WHERE action = 'federated-signin'")
    assert "non-public address" in str(refusal.detail)


@pytest.fixture
def public_university(monkeypatch: pytest.MonkeyPatch) -> None:
    """`idp.university.example` resolves to a public address; literal addresses resolve to themselves."""
    async def resolve(host: str, port: int) -> list[outbound_urls.Address]:
        if host == "idp.university.example":
            return [ipaddress.ip_address("93.184.215.14")]
        return [ipaddress.ip_address(host)]

    monkeypatch.setattr(outbound_urls, "resolve", resolve)


def provider_naming(**endpoints: str) -> httpx.MockTransport:
    """A provider at PUBLIC_ISSUER whose discovery document names `endpoints` (its own by default)."""
    document = {"issuer": PUBLIC_ISSUER, "authorization_endpoint": f"{PUBLIC_ISSUER}/authorize",
                "token_endpoint": f"{PUBLIC_ISSUER}/token", "jwks_uri": f"{PUBLIC_ISSUER}/jwks",
                "userinfo_endpoint": f"{PUBLIC_ISSUER}/userinfo", "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256"],
                "code_challenge_methods_supported": ["S256"], **endpoints}
    reached: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        reached.append(str(request.url))
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=document)
        return httpx.Response(200, json={"keys": [KEY.as_dict(private=False)]} if request.url.path == "/jwks" else {})

    transport = httpx.MockTransport(answer)
    transport.reached = reached  # type: ignore[attr-defined]
    return transport


@pytest.mark.usefixtures("public_university")
async def test_endpoints_a_public_provider_names_inside_the_network_are_never_called() -> None:
    transport = provider_naming(token_endpoint="http://10.0.0.5/token", jwks_uri="http://169.254.169.254/jwks",
                                userinfo_endpoint="http://127.0.0.1:6379/userinfo")
    federation = Federation(transport=transport)
    metadata = await federation.metadata(PUBLIC_ISSUER, require_https=False)
    with pytest.raises(ProviderUnavailable, match=r"token endpoint .* non-public address \(10\.0\.0\.5\)"):
        await federation.exchange_code(metadata, client_id="c", client_secret="s", code="x",
                                       redirect_uri=CALLBACK, code_verifier="v")
    with pytest.raises(ProviderUnavailable, match=r"JWKS .* non-public address \(169\.254\.169\.254\)"):
        await federation.key_source(metadata.jwks_uri)(False)
    with pytest.raises(ProviderUnavailable, match=r"userinfo endpoint .* non-public address \(127\.0\.0\.1\)"):
        await federation.userinfo(metadata, "token")
    assert transport.reached == [f"{PUBLIC_ISSUER}/.well-known/openid-configuration"]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("public_university")
async def test_a_deployment_that_allows_private_providers_reaches_them() -> None:
    transport = provider_naming(jwks_uri="http://10.0.0.5/jwks")
    federation = Federation(allow_private=True, transport=transport)
    metadata = await federation.metadata(PUBLIC_ISSUER, require_https=False)
    assert [key.kid for key in (await federation.key_source(metadata.jwks_uri)(False)).keys] == [KEY.kid]
    assert transport.reached[-1] == "http://10.0.0.5/jwks"  # type: ignore[attr-defined]
