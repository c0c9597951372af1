"""What a client may ask of the person's sign-in (OpenID Connect Core §3.1.2.1): `prompt`, `max_age` and
`login_hint`, checked, honoured for local accounts, and passed on to an institution's provider, whose answer is
checked against `max_age`. (A real provider's answer to `prompt=none` is in test_federation_signin.)"""

import html
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from meshkit.testing import running
from services.auth.tests.idp.fake_provider import FakeProvider, configure_fake_provider, use_fake_provider
from services.auth.tests.idp.signin_flow import (
    TOWN,
    UNI,
    add_app_client,
    add_local_user,
    answer_of,
    authorize_query,
    claims_of,
    pkce_pair,
    redeem,
    register_institutions,
    run_sql,
    submit_login,
)

from .conftest import admin_headers


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
async def auth(app: FastAPI, fake: FakeProvider) -> AsyncIterator[httpx.AsyncClient]:
    use_fake_provider(app, fake)
    async with running(app) as client:
        admin = await admin_headers(client)
        await register_institutions(client, admin, UNI, TOWN)
        await configure_fake_provider(client, admin)
        await add_app_client(app)
        yield client


async def authorize(auth: httpx.AsyncClient, **params: str | None) -> httpx.Response:
    return await auth.get("/auth/authorize", params=authorize_query(pkce_pair()[1], **params))


@pytest.mark.parametrize(("asked", "named"), [
    ({"prompt": "none login"}, "prompt"),
    ({"prompt": "sometimes"}, "prompt"),
    ({"max_age": "-1"}, "max_age"),
    ({"max_age": "an hour"}, "max_age"),
    ({"max_age": "\uff13\uff10"}, "max_age"),  # full-width digits
    ({"login_hint": "ann\nSet-Cookie: x"}, "login_hint"),
    ({"login_hint": "a" * 201}, "login_hint"),
])
async def test_parameters_it_cannot_honour_go_back_to_the_client_naming_them(
        auth: httpx.AsyncClient, asked: dict[str, str], named: str) -> None:
    answer = answer_of(await authorize(auth, institution=TOWN["code"], **asked))
    assert answer["error"] == "invalid_request" and answer["error_description"].startswith(f"{named}:")
    assert answer["state"] == "client-state" and "iss" in answer


async def test_prompt_none_is_answered_at_once_when_someone_would_have_to_be_asked(auth: httpx.AsyncClient,
                                                                                   app: FastAPI) -> None:
    local = answer_of(await authorize(auth, institution=TOWN["code"], prompt="none"))  # no session of ours
    assert local["error"] == "login_required" and local["state"] == "client-state"
    unchosen = answer_of(await authorize(auth, prompt="none"))  # the person would choose an institution
    assert unchosen["error"] == "interaction_required"
    assert await run_sql(app, "SELECT state FROM signin_states") == []  # nothing left waiting


async def test_a_local_sign_in_honours_max_age_and_fills_in_the_login_hint(auth: httpx.AsyncClient,
                                                                           app: FastAPI) -> None:
    await add_local_user(app, TOWN["code"], "ann")
    verifier, challenge = pkce_pair()
    chooser = await auth.get("/auth/authorize", params=authorize_query(challenge, login_hint="ann<b>", max_age="0",
                                                                       prompt="login consent"))
    links = [html.unescape(part.split('"')[0]) for part in chooser.text.split('href="')[1:]]
    town_link = next(link for link in links if f"institution={TOWN['code']}" in link)
    assert "login_hint=ann%3Cb%3E" in town_link and "max_age=0" in town_link and "prompt=login+consent" in town_link
    form = await auth.get(town_link)
    assert form.status_code == 200 and 'value="ann&lt;b&gt;"' in form.text  # pre-filled, escaped
    answer = answer_of(await submit_login(auth, form, "ann", "a-long-enough-password"))
    tokens = await redeem(auth, answer["code"], verifier)
    assert abs(claims_of(tokens.json()["id_token"])["auth_time"] - time.time()) < 60  # she just typed it


async def test_the_provider_is_asked_what_the_client_asked_and_its_answer_is_held_to_max_age(
        auth: httpx.AsyncClient, fake: FakeProvider, app: FastAPI) -> None:
    async def via_provider(auth_time: int | None, **asked: str) -> dict[str, str]:
        to_idp = await authorize(auth, institution=UNI["code"], **asked)
        sent = httpx.URL(to_idp.headers["location"]).params
        fake.nonce, fake.claims = sent["nonce"], {"auth_time": auth_time}
        return answer_of(await auth.get("/auth/callback", params={"state": sent["state"], "code": "upstream-code"}))

    to_idp = await authorize(auth, institution=UNI["code"], prompt="login consent", max_age="600",
                             login_hint="ann@uni.example")
    sent = httpx.URL(to_idp.headers["location"]).params
    assert (sent["prompt"], sent["max_age"], sent["login_hint"]) == ("login", "600", "ann@uni.example")
    assert "prompt" not in httpx.URL((await authorize(auth, institution=UNI["code"], prompt="consent")
                                      ).headers["location"]).params  # consent was asked of us, not of it

    now = int(time.time())
    assert "code" in await via_provider(now - 30, max_age="600")
    for stale in (now - 3600, None):  # signed in an hour ago, or not saying when
        refused = await via_provider(stale, max_age="600")
        assert refused["error"] == "login_required" and "code" not in refused
    assert "code" in await via_provider(now - 3600)  # without max_age, an old session is fine
    reasons = [str(row.detail) for row in await run_sql(
        app, "SELECT detail FROM audit_events WHERE action = 'federated-signin' AND outcome = 'refused'")]
    assert len(reasons) == 2 and all("older than max_age 600 s" in reason for reason in reasons)
