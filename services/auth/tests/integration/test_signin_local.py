"""Browser sign-in with local accounts: the institution chooser, the login form, lockout, and our codes."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from meshkit.testing import running
from services.auth.tests.idp.harness import forms_in
from services.auth.tests.idp.signin_flow import (
    APP_REDIRECT,
    PASSWORD,
    TOWN,
    UNI,
    add_app_client,
    add_local_user,
    answer_of,
    authorize_query,
    bearer,
    claims_of,
    local_sign_in,
    pkce_pair,
    redeem,
    register_institutions,
    run_sql,
    submit_login,
)

from .conftest import admin_headers


@pytest.fixture
async def auth(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        await register_institutions(client, await admin_headers(client), UNI, TOWN)
        await add_app_client(app)
        yield client


async def test_a_local_patron_signs_in_and_the_app_gets_tokens_for_them(auth: httpx.AsyncClient,
                                                                         app: FastAPI) -> None:
    user = await add_local_user(app, TOWN["code"], "reader")
    tokens = await local_sign_in(auth, TOWN["code"], "reader")
    access, identity = claims_of(tokens["access_token"]), claims_of(tokens["id_token"])
    assert access["institution"] == TOWN["code"] and access["roles"] == ["patron"]
    assert access["sub"] == f"user:{user.id}" and set(access["scope"].split()) == {"openid", "catalog:read",
                                                                                  "ill:request"}
    assert identity["nonce"] == "client-nonce" and identity["aud"] == "library-app"
    assert tokens["refresh_token"]


async def test_wrong_password_shows_the_form_again_and_repeated_failures_lock_the_account(
        auth: httpx.AsyncClient, app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "forgetful")
    _verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    for _attempt in range(5):
        page = await submit_login(auth, page, "forgetful", "not-the-password")
        assert page.status_code == 200 and "location" not in page.headers
        assert 'role="alert"' in page.text and "username or password is wrong" in page.text
        assert 'value="forgetful"' in page.text  # the username stays filled in, the password does not
    locked = await submit_login(auth, page, "forgetful", PASSWORD)  # the right password, too late
    assert locked.status_code == 200 and "location" not in locked.headers
    assert "username or password is wrong" in locked.text
    rows = await run_sql(app, "SELECT failed_logins, locked_until FROM users WHERE username = 'forgetful'")
    assert rows[0].failed_logins == 5 and rows[0].locked_until is not None
    outcomes = [r.outcome for r in await run_sql(
        app, "SELECT outcome FROM audit_events WHERE action = 'login' AND actor = :actor ORDER BY id",
        actor=f"{TOWN['code']}/forgetful")]
    assert outcomes == ["failure"] * 5 + ["locked"]


async def test_once_a_lock_expires_counting_starts_over(auth: httpx.AsyncClient, app: FastAPI) -> None:
    # One wrong password after the lock expired used to lock the account again: anyone could keep it locked.
    await add_local_user(app, TOWN["code"], "unlucky")
    _verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    for _attempt in range(5):
        page = await submit_login(auth, page, "unlucky", "not-the-password")
    await run_sql(app, "UPDATE users SET locked_until = '2000-01-01 00:00:00' WHERE username = 'unlucky'")

    for _attempt in range(4):
        page = await submit_login(auth, page, "unlucky", "not-the-password")
    rows = await run_sql(app, "SELECT failed_logins, locked_until FROM users WHERE username = 'unlucky'")
    assert rows[0].failed_logins == 4 and rows[0].locked_until is None

    answer_of(await submit_login(auth, page, "unlucky", PASSWORD))


async def test_the_code_works_once_and_only_with_its_verifier_and_redirect_uri(auth: httpx.AsyncClient,
                                                                              app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "careful")

    async def fresh_code() -> tuple[str, str]:
        verifier, challenge = pkce_pair()
        page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
        return answer_of(await submit_login(auth, page, "careful", PASSWORD))["code"], verifier

    code, _verifier = await fresh_code()
    wrong_verifier = await redeem(auth, code, pkce_pair()[0])
    assert wrong_verifier.status_code == 400 and wrong_verifier.json()["error"] == "invalid_grant"
    code, verifier = await fresh_code()
    wrong_redirect = await redeem(auth, code, verifier, redirect_uri="https://app.example/elsewhere")
    assert wrong_redirect.status_code == 400 and wrong_redirect.json()["error"] == "invalid_grant"
    code, verifier = await fresh_code()
    assert (await redeem(auth, code, verifier)).status_code == 200
    replay = await redeem(auth, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


async def test_a_replayed_code_revokes_what_its_first_redemption_gave(auth: httpx.AsyncClient, app: FastAPI) -> None:
    # OAuth 2.1 §4.1.3: a code redeemed twice was intercepted, so the tokens it gave cannot be trusted either.
    await add_local_user(app, TOWN["code"], "intercepted")
    verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    code = answer_of(await submit_login(auth, page, "intercepted", PASSWORD))["code"]
    first = await redeem(auth, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert (await auth.get("/auth/userinfo", headers=bearer(tokens))).status_code == 200

    replay = await redeem(auth, code, verifier)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert (await auth.get("/auth/userinfo", headers=bearer(tokens))).status_code == 401
    refreshed = await auth.post("/auth/token", data={"grant_type": "refresh_token", "client_id": "library-app",
                                                     "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_the_answer_carries_the_apps_state_and_our_issuer(auth: httpx.AsyncClient, app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "stateful")
    _verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"],
                                                                    state="opaque/state value"))
    answer = answer_of(await submit_login(auth, page, "stateful", PASSWORD))
    assert answer["state"] == "opaque/state value" and answer["iss"] == "http://127.0.0.1:8000"


async def test_a_login_form_cannot_be_used_twice_or_after_it_expired(auth: httpx.AsyncClient, app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "twice")
    _verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    answer_of(await submit_login(auth, page, "twice", PASSWORD))
    replay = await submit_login(auth, page, "twice", PASSWORD)
    assert replay.status_code == 400 and "location" not in replay.headers and "expired" in replay.text

    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    await run_sql(app, "UPDATE signin_states SET expires_at = '2000-01-01 00:00:00'")
    expired = await submit_login(auth, page, "twice", PASSWORD)
    assert expired.status_code == 400 and "location" not in expired.headers and "expired" in expired.text
    forged = await auth.post("/auth/login", data={"signin": "guessed", "username": "twice", "password": PASSWORD})
    assert forged.status_code == 400 and "location" not in forged.headers


@pytest.mark.parametrize(("change", "shown"), [
    ({"client_id": "no-such-app"}, "not known to Bibliomesh"),
    ({"redirect_uri": "https://evil.example/steal"}, "has not registered"),
    ({"redirect_uri": APP_REDIRECT + "/"}, "has not registered"),  # exact match: not even a trailing slash
    ({"redirect_uri": None}, "has not registered"),
])
async def test_unknown_clients_and_unregistered_redirect_uris_get_a_page_and_never_a_redirect(
        auth: httpx.AsyncClient, change: dict[str, str | None], shown: str) -> None:
    _verifier, challenge = pkce_pair()
    response = await auth.get("/auth/authorize", params=authorize_query(challenge, **change))
    assert response.status_code == 400 and "location" not in response.headers
    assert shown in response.text and "evil.example" not in response.text


@pytest.mark.parametrize(("change", "error"), [
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),  # the default would be plain
    ({"code_challenge": "too-short"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "openid directory:root"}, "invalid_scope"),
])
async def test_bad_requests_from_a_known_app_go_back_to_it_as_errors(auth: httpx.AsyncClient,
                                                                     change: dict[str, str | None],
                                                                     error: str) -> None:
    _verifier, challenge = pkce_pair()
    response = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"],
                                                                        **change))
    answer = answer_of(response)
    assert answer["error"] == error and answer["state"] == "client-state" and "code" not in answer


async def test_a_state_too_long_is_refused_without_being_echoed(auth: httpx.AsyncClient) -> None:
    # Echoed, a 9,000-character state made a Location header no proxy accepts (the gateway counted that as the
    # service failing); the app learns its state was refused, and the answer stays small.
    _verifier, challenge = pkce_pair()
    response = await auth.get("/auth/authorize", params=authorize_query(challenge, state="s" * 9000,
                                                                        institution=TOWN["code"]))
    answer = answer_of(response)
    assert answer["error"] == "invalid_request" and "state" in answer["error_description"]
    assert "state" not in answer and len(response.headers["location"]) < 500


async def test_an_app_without_the_authorization_code_grant_is_refused(auth: httpx.AsyncClient, app: FastAPI) -> None:
    await add_app_client(app, client_id="machine", grant_types=("client_credentials",))
    _verifier, challenge = pkce_pair()
    answer = answer_of(await auth.get("/auth/authorize", params=authorize_query(challenge, client_id="machine")))
    assert answer["error"] == "unauthorized_client"


async def test_the_chooser_lists_active_institutions_and_searches_without_javascript(
        auth: httpx.AsyncClient) -> None:
    _verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert UNI["name_en"] in page.text and TOWN["name_en"] in page.text and "<script" not in page.text
    (search,) = forms_in(page.text)
    assert search.method == "get" and search.fields["code_challenge"] == challenge
    found = await auth.get(search.action, params={**search.fields, "q": "town"})
    assert TOWN["name_en"] in found.text and UNI["name_en"] not in found.text
    assert f"institution={TOWN['code']}" in found.text
    nothing = await auth.get(search.action, params={**search.fields, "q": "atlantis"})
    assert "No institution matches" in nothing.text


async def test_the_pages_speak_chinese_when_asked(auth: httpx.AsyncClient) -> None:
    _verifier, challenge = pkce_pair()
    chooser = await auth.get("/auth/authorize", params=authorize_query(challenge, lang="zh"))
    assert '<html lang="zh-Hans">' in chooser.text and "选择您的机构" in chooser.text
    assert "联邦大学" in chooser.text and "城市公共图书馆" in chooser.text
    by_header = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]),
                               headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "登录城市公共图书馆" in by_header.text and 'name="password"' in by_header.text
    english = await auth.get("/auth/authorize", params=authorize_query(challenge),
                             headers={"Accept-Language": "en-GB,zh;q=0.5"})
    assert '<html lang="en">' in english.text


async def test_sign_in_pages_are_not_cached_framed_or_sniffed(auth: httpx.AsyncClient) -> None:
    _verifier, challenge = pkce_pair()
    for params in (authorize_query(challenge), authorize_query(challenge, institution=TOWN["code"]),
                   authorize_query(challenge, client_id="nobody")):
        page = await auth.get("/auth/authorize", params=params)
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no scripts at all
    login = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    # the form posts to us and is then redirected to the app: both must be allowed, nothing else
    assert "form-action 'self' https://app.example;" in login.headers["content-security-policy"]


async def test_an_unknown_or_suspended_institution_cannot_be_chosen(auth: httpx.AsyncClient) -> None:
    _verifier, challenge = pkce_pair()
    response = await auth.get("/auth/authorize", params=authorize_query(challenge, institution="CN-NOWHERE"))
    assert response.status_code == 404 and "location" not in response.headers
