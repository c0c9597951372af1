"""Federated sign-in against a real OpenID Connect provider (oidc-provider in node, on loopback): our side runs
in-process, the browser's hops between the two are made by hand."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from meshkit.testing import running
from services.auth.tests.idp.harness import LoopbackIdp, sign_in_at_idp
from services.auth.tests.idp.signin_flow import (
    CALLBACK,
    UNI,
    add_app_client,
    answer_of,
    authorize_query,
    claims_of,
    path_of,
    pkce_pair,
    redeem,
    register_institutions,
    run_sql,
)

from .conftest import admin_headers

ROLE_RULES = {"student": ["patron"], "faculty": ["patron"], "staff": ["patron", "staff"]}


def provider_body(idp: LoopbackIdp, **changes: Any) -> dict[str, Any]:
    return {"issuer": idp.issuer, "client_id": idp.client_id, "client_secret": idp.client_secret,
            "scopes": "openid profile email eduperson", "role_rules": ROLE_RULES, **changes}


@pytest.fixture
async def auth(app: FastAPI, idp: LoopbackIdp) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        admin = await admin_headers(client)
        await register_institutions(client, admin, UNI)
        response = await client.put(f"/auth/institutions/{UNI['code']}/identity-provider", json=provider_body(idp),
                                    headers=admin)
        assert response.status_code == 200, response.text
        await add_app_client(app)
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser at the IdP: real HTTP, its own cookies."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def start(auth: httpx.AsyncClient) -> tuple[str, str]:
    """Ask us to sign someone in at the university; returns our redirect to its IdP and the app's verifier."""
    verifier, challenge = pkce_pair()
    response = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"]))
    assert response.status_code == 302, response.text
    return response.headers["location"], verifier


async def federated_sign_in(auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp, account: str
                            ) -> tuple[httpx.Response, str]:
    """The whole trip: us → IdP (login and consent forms) → our callback. Returns our answer and the verifier."""
    to_idp, verifier = await start(auth)
    assert to_idp.startswith(idp.issuer + "/")
    back = await sign_in_at_idp(browser, to_idp, account, CALLBACK)
    return await auth.get(path_of(back)), verifier


async def test_a_student_signs_in_at_their_university_and_the_app_gets_patron_tokens(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp, app: FastAPI) -> None:
    answer, verifier = await federated_sign_in(auth, browser, idp, "alice")
    code = answer_of(answer)
    assert code["state"] == "client-state" and code["iss"] == "http://127.0.0.1:8000"
    tokens = await redeem(auth, code["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    access, identity = claims_of(tokens.json()["access_token"]), claims_of(tokens.json()["id_token"])
    assert access["institution"] == UNI["code"] and access["roles"] == ["patron"]
    assert identity["nonce"] == "client-nonce" and identity["preferred_username"] == "alice"
    assert identity["email"] == "alice@uni.example" and identity["name"] == "Alice Student"  # from userinfo
    (user,) = await run_sql(app, "SELECT institution, external_issuer, external_subject FROM users")
    assert tuple(user) == (UNI["code"], idp.issuer, "alice")
    audits = await run_sql(app, "SELECT outcome FROM audit_events WHERE action = 'federated-signin'")
    assert [a.outcome for a in audits] == ["success"]


async def test_staff_get_the_staff_role_and_roles_follow_the_rules_at_every_sign_in(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp) -> None:
    answer, verifier = await federated_sign_in(auth, browser, idp, "bob")
    tokens = (await redeem(auth, answer_of(answer)["code"], verifier)).json()
    assert claims_of(tokens["access_token"])["roles"] == ["patron", "staff"]
    admin = await admin_headers(auth)
    changed = await auth.put(f"/auth/institutions/{UNI['code']}/identity-provider", headers=admin,
                             json=provider_body(idp, client_secret=None, role_rules={"staff": ["patron"]}))
    assert changed.status_code == 200, changed.text
    async with httpx.AsyncClient(timeout=10) as new_browser:  # a new browser session at the IdP
        answer, verifier = await federated_sign_in(auth, new_browser, idp, "bob")
    tokens = (await redeem(auth, answer_of(answer)["code"], verifier)).json()
    assert claims_of(tokens["access_token"])["roles"] == ["patron"]


async def test_an_affiliation_without_a_role_rule_or_default_role_is_refused_with_a_clear_page(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp, app: FastAPI) -> None:
    answer, _verifier = await federated_sign_in(auth, browser, idp, "carol")
    assert answer.status_code == 403 and "location" not in answer.headers
    assert "does not give access to the library network" in answer.text
    assert await run_sql(app, "SELECT id FROM users") == []
    (audit,) = await run_sql(app, "SELECT outcome, detail FROM audit_events WHERE action = 'federated-signin'")
    assert audit.outcome == "refused"


async def test_default_roles_let_people_without_a_matching_affiliation_in(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp) -> None:
    admin = await admin_headers(auth)
    changed = await auth.put(f"/auth/institutions/{UNI['code']}/identity-provider", headers=admin,
                             json=provider_body(idp, default_roles=["patron"]))
    assert changed.status_code == 200
    answer, verifier = await federated_sign_in(auth, browser, idp, "carol")
    tokens = (await redeem(auth, answer_of(answer)["code"], verifier)).json()
    assert claims_of(tokens["access_token"])["roles"] == ["patron"]


async def test_an_id_token_with_another_nonce_is_refused(auth: httpx.AsyncClient, browser: httpx.AsyncClient,
                                                         idp: LoopbackIdp, app: FastAPI) -> None:
    to_idp, _verifier = await start(auth)
    back = await sign_in_at_idp(browser, to_idp, "alice", CALLBACK)
    # What we remember no longer matches what the IdP put in its token (as with an injected code).
    await run_sql(app, "UPDATE signin_states SET upstream_nonce = 'someone-elses-nonce'")
    answer = await auth.get(path_of(back))
    assert answer.status_code == 502 and "location" not in answer.headers
    assert "could not be verified" in answer.text
    (audit,) = await run_sql(app, "SELECT outcome, detail FROM audit_events WHERE action = 'federated-signin'")
    assert audit.outcome == "refused" and "nonce" in str(audit.detail)


async def test_the_callback_state_is_single_use_and_expires(auth: httpx.AsyncClient, browser: httpx.AsyncClient,
                                                            idp: LoopbackIdp, app: FastAPI) -> None:
    to_idp, _verifier = await start(auth)
    back = await sign_in_at_idp(browser, to_idp, "alice", CALLBACK)
    assert answer_of(await auth.get(path_of(back)))["code"]
    replay = await auth.get(path_of(back))
    assert replay.status_code == 400 and "location" not in replay.headers and "expired" in replay.text

    to_idp, _verifier = await start(auth)
    back = await sign_in_at_idp(browser, to_idp, "alice", CALLBACK)
    await run_sql(app, "UPDATE signin_states SET expires_at = '2000-01-01 00:00:00'")
    late = await auth.get(path_of(back))
    assert late.status_code == 400 and "location" not in late.headers
    unknown = await auth.get("/auth/callback", params={"state": "made-up", "code": "x"})
    assert unknown.status_code == 400 and "location" not in unknown.headers


async def test_when_the_idp_says_no_the_app_hears_access_denied(auth: httpx.AsyncClient, idp: LoopbackIdp) -> None:
    to_idp, _verifier = await start(auth)
    state = httpx.URL(to_idp).params["state"]
    answer = answer_of(await auth.get("/auth/callback", params={"state": state, "error": "access_denied"}))
    assert answer["error"] == "access_denied" and answer["state"] == "client-state" and "code" not in answer
    discovery = (await auth.get("/.well-known/openid-configuration")).json()
    assert answer["iss"] == discovery["issuer"]  # an error answer names us too (RFC 9207)


async def test_a_callback_naming_another_issuer_is_refused(auth: httpx.AsyncClient, browser: httpx.AsyncClient,
                                                           idp: LoopbackIdp) -> None:
    to_idp, _verifier = await start(auth)
    back = httpx.URL(await sign_in_at_idp(browser, to_idp, "alice", CALLBACK))
    mixed_up = await auth.get("/auth/callback", params={**dict(back.params), "iss": "https://attacker.example"})
    assert mixed_up.status_code == 502 and "location" not in mixed_up.headers


async def test_we_send_the_idp_our_own_state_nonce_and_pkce(auth: httpx.AsyncClient, app: FastAPI) -> None:
    to_idp = httpx.URL((await start(auth))[0])
    (stored,) = await run_sql(app, "SELECT state, upstream_nonce FROM signin_states")
    assert to_idp.params["state"] == stored.state != "client-state"
    assert to_idp.params["nonce"] == stored.upstream_nonce != "client-nonce"
    assert to_idp.params["code_challenge_method"] == "S256" and len(to_idp.params["code_challenge"]) == 43
    assert to_idp.params["redirect_uri"] == CALLBACK


async def test_a_wrong_client_secret_ends_in_a_page_not_a_session(auth: httpx.AsyncClient,
                                                                  browser: httpx.AsyncClient, idp: LoopbackIdp) -> None:
    admin = await admin_headers(auth)
    changed = await auth.put(f"/auth/institutions/{UNI['code']}/identity-provider", headers=admin,
                             json=provider_body(idp, client_secret="not-the-secret"))
    assert changed.status_code == 200
    answer, _verifier = await federated_sign_in(auth, browser, idp, "alice")
    assert answer.status_code == 502 and "location" not in answer.headers
    assert "could not be reached or did not complete" in answer.text


async def test_an_institution_suspended_while_its_person_is_at_the_idp_gets_no_code(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp, app: FastAPI) -> None:
    to_idp, _verifier = await start(auth)
    back = await sign_in_at_idp(browser, to_idp, "alice", CALLBACK)
    suspended = await auth.post(f"/auth/institutions/{UNI['code']}/suspend", headers=await admin_headers(auth),
                                json={"reason": "unpaid"})
    assert suspended.status_code == 200, suspended.text

    answer = await auth.get(path_of(back))

    assert answer.status_code == 404 and "location" not in answer.headers, answer.text
    assert "no longer" in answer.text
    assert await run_sql(app, "SELECT id FROM users") == []  # no account made for a suspended institution
    assert await run_sql(app, "SELECT code_hash FROM authorization_codes") == []
    (audit,) = await run_sql(app, "SELECT outcome, detail FROM audit_events WHERE action = 'federated-signin'")
    assert audit.outcome == "refused" and "suspended" in str(audit.detail)
    refused = await auth.get("/auth/authorize", params=authorize_query(pkce_pair()[1], institution=UNI["code"]))
    assert refused.status_code == 404 and "location" not in refused.headers  # not sent to its IdP either


async def test_prompt_none_goes_to_the_provider_whose_own_session_answers_without_a_form(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp) -> None:
    async def silently() -> tuple[str, str]:
        verifier, challenge = pkce_pair()
        to_idp = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"],
                                                                          prompt="none"))
        assert to_idp.status_code == 302 and httpx.URL(to_idp.headers["location"]).params["prompt"] == "none"
        back = await browser.get(to_idp.headers["location"])  # no form may be shown: straight back to us
        assert back.is_redirect and back.headers["location"].startswith(CALLBACK), back.text[:300]
        return path_of(back.headers["location"]), verifier

    callback, _verifier = await silently()  # nobody signed in at the provider yet
    refused = answer_of(await auth.get(callback))
    assert refused["error"] == "login_required" and refused["state"] == "client-state" and "code" not in refused
    await federated_sign_in(auth, browser, idp, "alice")  # signs in (and consents) at the provider
    callback, verifier = await silently()  # the provider's session now answers for her
    tokens = await redeem(auth, answer_of(await auth.get(callback))["code"], verifier)
    assert tokens.status_code == 200 and claims_of(tokens.json()["id_token"])["preferred_username"] == "alice"


async def test_a_scoped_affiliation_at_another_campus_earns_no_role_here(
        auth: httpx.AsyncClient, browser: httpx.AsyncClient, idp: LoopbackIdp, app: FastAPI) -> None:
    # The provider serves the university and its branch campus: Dave is staff at the branch, a member here.
    admin = await admin_headers(auth)
    path = f"/auth/institutions/{UNI['code']}/identity-provider"
    body = provider_body(idp, client_secret=None, claims={"affiliation": "eduPersonScopedAffiliation"},
                         role_rules={"staff": ["patron", "staff"], "member": ["patron"]})
    refused = await auth.put(path, headers=admin, json={**body, "affiliation_scopes": ["uni.example", "not a domain"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "affiliation_scopes.1"
    saved = await auth.put(path, headers=admin, json={**body, "affiliation_scopes": ["UNI.example"]})
    assert saved.status_code == 200 and saved.json()["affiliation_scopes"] == ["uni.example"], saved.text
    answer, verifier = await federated_sign_in(auth, browser, idp, "dave")
    tokens = (await redeem(auth, answer_of(answer)["code"], verifier)).json()
    assert claims_of(tokens["access_token"])["roles"] == ["patron"]  # not staff: that is the branch's
    (audit,) = await run_sql(app, "SELECT detail FROM audit_events WHERE action = 'federated-signin'")
    detail = audit.detail if isinstance(audit.detail, dict) else json.loads(audit.detail)
    assert detail["affiliations"] == ["member"] and detail["out_of_scope"] == ["staff@branch.uni.example"]

    unscoped = await auth.put(path, headers=admin, json={**body, "affiliation_scopes": []})
    assert unscoped.status_code == 200
    async with httpx.AsyncClient(timeout=10) as new_browser:  # without scopes to check, the scope is not read
        answer, verifier = await federated_sign_in(auth, new_browser, idp, "dave")
    tokens = (await redeem(auth, answer_of(answer)["code"], verifier)).json()
    assert claims_of(tokens["access_token"])["roles"] == ["patron", "staff"]
