"""Browser sign-in and the institutions taking part: an institution's own app signs in only its people (refused at
`/auth/authorize`, before anyone types a username), and a suspended institution's people and apps get no codes."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from meshkit.testing import running
from services.auth.tests.idp.signin_flow import (
    APP_REDIRECT,
    PASSWORD,
    TOWN,
    UNI,
    add_app_client,
    add_local_user,
    answer_of,
    authorize_query,
    local_sign_in,
    pkce_pair,
    redeem,
    register_institutions,
    run_sql,
    submit_login,
)

from .conftest import admin_headers

TOWN_APP = "town-app"  # the Town library's own browser app (a public client of TOWN)


@pytest.fixture
async def auth(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        await register_institutions(client, await admin_headers(client), UNI, TOWN)
        await add_app_client(app)
        await add_app_client(app, client_id=TOWN_APP, institution=TOWN["code"])
        yield client


async def suspend(auth: httpx.AsyncClient, code: str) -> None:
    response = await auth.post(f"/auth/institutions/{code}/suspend", headers=await admin_headers(auth),
                               json={"reason": "unpaid"})
    assert response.status_code == 200, response.text


async def test_an_institutions_app_is_refused_at_authorize_for_another_institution(auth: httpx.AsyncClient,
                                                                                  app: FastAPI) -> None:
    await add_local_user(app, UNI["code"], "visitor")
    _verifier, challenge = pkce_pair()

    refused = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"],
                                                                       client_id=TOWN_APP))

    answer = answer_of(refused)  # to the app's verified redirect_uri, as RFC 6749 §4.1.2.1 says
    assert answer["error"] == "unauthorized_client" and answer["state"] == "client-state"
    assert TOWN["code"] in answer["error_description"]
    assert "visitor" not in refused.text and "visitor" not in refused.headers["location"]
    assert await run_sql(app, "SELECT state FROM signin_states") == []  # no login form to try names on


async def test_an_institutions_app_goes_straight_to_its_own_institution(auth: httpx.AsyncClient,
                                                                        app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "reader")
    verifier, challenge = pkce_pair()

    page = await auth.get("/auth/authorize", params=authorize_query(challenge, client_id=TOWN_APP))

    assert page.status_code == 200 and TOWN["name_en"] in page.text and UNI["name_en"] not in page.text
    code = answer_of(await submit_login(auth, page, "reader", PASSWORD))["code"]
    assert (await redeem(auth, code, verifier, client_id=TOWN_APP)).status_code == 200
    chooser = await auth.get("/auth/authorize", params=authorize_query(challenge))  # the platform's app: any
    assert UNI["name_en"] in chooser.text and TOWN["name_en"] in chooser.text


async def test_a_suspended_institution_is_not_offered_and_not_signed_in_at(auth: httpx.AsyncClient) -> None:
    await suspend(auth, UNI["code"])
    _verifier, challenge = pkce_pair()

    chooser = await auth.get("/auth/authorize", params=authorize_query(challenge))
    chosen = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=UNI["code"]))

    assert chooser.status_code == 200 and UNI["name_en"] not in chooser.text and TOWN["name_en"] in chooser.text
    assert chosen.status_code == 404 and "location" not in chosen.headers
    assert "no longer" in chosen.text


async def test_a_suspended_institutions_app_is_refused_at_authorize(auth: httpx.AsyncClient, app: FastAPI) -> None:
    await suspend(auth, TOWN["code"])
    _verifier, challenge = pkce_pair()

    refused = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"],
                                                                       client_id=TOWN_APP))

    answer = answer_of(refused)
    assert answer["error"] == "unauthorized_client" and "suspended" in answer["error_description"]
    assert await run_sql(app, "SELECT state FROM signin_states") == []


async def test_a_login_form_opened_before_the_suspension_gives_no_code(auth: httpx.AsyncClient,
                                                                       app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "reader")
    _verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    await suspend(auth, TOWN["code"])

    refused = await submit_login(auth, page, "reader", PASSWORD)

    assert refused.status_code in (403, 404) and "location" not in refused.headers, refused.text
    assert "no longer" in refused.text
    assert await run_sql(app, "SELECT code_hash FROM authorization_codes") == []
    logins = await run_sql(app, "SELECT outcome FROM audit_events WHERE action = 'login'")
    assert logins == []  # refused before the password: nothing counted against the account


async def test_a_code_issued_before_the_suspension_is_not_redeemed(auth: httpx.AsyncClient, app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "reader")
    tokens = await local_sign_in(auth, TOWN["code"], "reader")  # it worked before
    assert tokens["access_token"]
    verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    code = answer_of(await submit_login(auth, page, "reader", PASSWORD))["code"]
    await suspend(auth, TOWN["code"])

    refused = await redeem(auth, code, verifier)
    refresh = await auth.post("/auth/token", data={"grant_type": "refresh_token", "client_id": "library-app",
                                                   "refresh_token": tokens["refresh_token"]})

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert "suspended" in refused.json()["error_description"]
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant", refresh.text
    refusals = await run_sql(app, "SELECT institution, detail FROM audit_events "
                                  "WHERE action = 'token-refused' AND outcome = 'refused' ORDER BY id")
    assert [r.institution for r in refusals] == [TOWN["code"]] * 2
    assert ["authorization_code" in str(refusals[0].detail), "refresh_token" in str(refusals[1].detail)] == [True] * 2


async def test_the_redirect_of_a_refusal_is_only_ever_the_registered_one(auth: httpx.AsyncClient) -> None:
    _verifier, challenge = pkce_pair()
    refused = await auth.get("/auth/authorize", params=authorize_query(
        challenge, institution=UNI["code"], client_id=TOWN_APP, redirect_uri="https://evil.example/cb"))
    assert refused.status_code == 400 and "location" not in refused.headers
    assert APP_REDIRECT not in refused.text
