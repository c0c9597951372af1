"""Configuring an institution's identity provider: who may, what is checked, what is kept secret, what is audited."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from meshkit.testing import running
from services.auth.tests.idp.harness import LoopbackIdp, free_port
from services.auth.tests.idp.signin_flow import (
    CALLBACK,
    TOWN,
    UNI,
    add_app_client,
    add_local_user,
    authorize_query,
    bearer,
    local_sign_in,
    pkce_pair,
    register_institutions,
    run_sql,
)

from .conftest import admin_headers

PATH = f"/auth/institutions/{UNI['code']}/identity-provider"


def provider_body(idp: LoopbackIdp, **changes: Any) -> dict[str, Any]:
    return {"issuer": idp.issuer, "client_id": idp.client_id, "client_secret": idp.client_secret,
            "role_rules": {"student": ["patron"], "staff": ["patron", "staff"]}, **changes}


@pytest.fixture
async def auth(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        await register_institutions(client, await admin_headers(client), UNI, TOWN)
        await add_app_client(app)
        yield client


ADMIN_SCOPE = "openid accounts:manage"
"""What an admin's sign-in asks for to configure the provider: a browser app's usual scopes are not enough."""


async def admin_of(auth: httpx.AsyncClient, app: FastAPI, institution: str, roles: tuple[str, ...]
                   ) -> dict[str, str]:
    username = f"{roles[0]}-{institution.lower()}"
    await add_local_user(app, institution, username, roles=roles)
    return bearer(await local_sign_in(auth, institution, username, scope=ADMIN_SCOPE))


async def test_the_platform_admin_configures_a_provider_whose_secret_is_sealed_and_never_shown(
        auth: httpx.AsyncClient, app: FastAPI, idp: LoopbackIdp) -> None:
    admin = await admin_headers(auth)
    saved = await auth.put(PATH, json=provider_body(idp), headers=admin)
    assert saved.status_code == 200, saved.text
    view = saved.json()
    assert view["client_secret_set"] is True and idp.client_secret not in saved.text
    assert view["redirect_uri"] == CALLBACK and view["protocol"] == "oidc" and view["default_roles"] == []
    assert (await auth.get(PATH, headers=admin)).json() == view
    (stored,) = await run_sql(app, "SELECT client_secret FROM identity_providers")
    assert stored.client_secret.startswith("fernet:") and idp.client_secret not in stored.client_secret
    (audit,) = await run_sql(app, "SELECT actor, target, detail FROM audit_events "
                                  "WHERE action = 'identity-provider-configured'")
    assert audit.target == idp.issuer and idp.client_secret not in str(audit.detail)

    kept = await auth.put(PATH, json=provider_body(idp, client_secret=None, scopes="openid email"), headers=admin)
    assert kept.status_code == 200 and kept.json()["client_secret_set"] is True
    assert (await run_sql(app, "SELECT client_secret FROM identity_providers"))[0] == stored


async def test_an_institution_admin_manages_their_own_provider_and_nobody_elses(
        auth: httpx.AsyncClient, app: FastAPI, idp: LoopbackIdp) -> None:
    own = await admin_of(auth, app, UNI["code"], ("institution-admin",))
    other = await admin_of(auth, app, TOWN["code"], ("institution-admin",))
    patron = await admin_of(auth, app, UNI["code"], ("patron",))
    for headers in (other, patron):
        assert (await auth.put(PATH, json=provider_body(idp), headers=headers)).status_code == 403
    narrowed = bearer(await local_sign_in(auth, UNI["code"], f"institution-admin-{UNI['code'].lower()}"))
    refused = await auth.put(PATH, json=provider_body(idp), headers=narrowed)  # openid catalog:read ill:request
    assert refused.status_code == 403 and refused.json()["required_scope"] == "accounts:manage", refused.text
    assert (await auth.put(PATH, json=provider_body(idp), headers=own)).status_code == 200
    for headers in (other, patron):
        assert (await auth.get(PATH, headers=headers)).status_code == 403
        assert (await auth.delete(PATH, headers=headers)).status_code == 403
    assert (await auth.get(PATH, headers=own)).status_code == 200
    assert (await auth.put(PATH, json=provider_body(idp))).status_code == 401


async def test_a_disabled_institution_admins_still_valid_token_is_refused(
        auth: httpx.AsyncClient, app: FastAPI, idp: LoopbackIdp) -> None:
    admin = await admin_headers(auth)
    boss = await add_local_user(app, UNI["code"], "boss", roles=("institution-admin",))
    still_valid = bearer(await local_sign_in(auth, UNI["code"], "boss", scope=ADMIN_SCOPE))
    assert (await auth.put(PATH, json=provider_body(idp), headers=still_valid)).status_code == 200
    assert (await auth.post(f"/auth/users/{boss.id}/disable", headers=admin)).status_code == 200
    refused = await auth.put(PATH, json=provider_body(idp, enabled=False), headers=still_valid)
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"], refused.text
    assert (await auth.get(PATH, headers=still_valid)).status_code == 401
    assert (await auth.delete(PATH, headers=still_valid)).status_code == 401
    assert (await auth.get(PATH, headers=admin)).json()["enabled"] is True  # unchanged, still there


@pytest.mark.parametrize(("changes", "field"), [
    ({"scopes": "profile email"}, "scopes"),
    ({"role_rules": {"staff": ["platform-admin"]}}, "role_rules.staff.0"),
    ({"default_roles": ["platform-admin"]}, "default_roles.0"),
    ({"client_secret": None}, "client_secret"),
    ({"protocol": "saml"}, "protocol"),
    ({"issuer": "ftp://idp.example"}, "issuer"),
    ({"issuer": "https://idp.example/?tenant=1"}, "issuer"),
])
async def test_invalid_configurations_are_refused_naming_the_field(auth: httpx.AsyncClient, idp: LoopbackIdp,
                                                                   changes: dict[str, Any], field: str) -> None:
    response = await auth.put(PATH, json=provider_body(idp, **changes), headers=await admin_headers(auth))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_an_issuer_that_does_not_answer_discovery_as_itself_is_refused_at_save_time(
        auth: httpx.AsyncClient, idp: LoopbackIdp) -> None:
    admin = await admin_headers(auth)
    for issuer in (idp.issuer + "/", f"http://127.0.0.1:{free_port()}"):  # not what it declares; nobody there
        response = await auth.put(PATH, json=provider_body(idp, issuer=issuer), headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "issuer"
    staged = await auth.put(PATH, json=provider_body(idp, issuer=f"http://127.0.0.1:{free_port()}", enabled=False),
                            headers=admin)
    assert staged.status_code == 200  # a disabled provider may be prepared before it is reachable


async def test_without_an_enabled_provider_people_get_the_local_login_form(
        auth: httpx.AsyncClient, app: FastAPI, idp: LoopbackIdp) -> None:
    admin = await admin_headers(auth)
    _verifier, challenge = pkce_pair()
    assert (await auth.put(PATH, json=provider_body(idp), headers=admin)).status_code == 200
    to_idp = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"]))
    assert to_idp.status_code == 302 and to_idp.headers["location"].startswith(idp.issuer)
    assert (await auth.put(PATH, json=provider_body(idp, enabled=False), headers=admin)).status_code == 200
    form = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"]))
    assert form.status_code == 200 and 'action="/auth/login"' in form.text
    assert (await auth.delete(PATH, headers=admin)).status_code == 204
    assert (await auth.get(PATH, headers=admin)).status_code == 404
    assert (await auth.delete(PATH, headers=admin)).status_code == 404
    actions = [r.action for r in await run_sql(
        app, "SELECT action FROM audit_events WHERE action LIKE 'identity-provider-%' ORDER BY id")]
    assert actions == ["identity-provider-configured"] * 2 + ["identity-provider-removed"]
