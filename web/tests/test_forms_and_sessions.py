"""Forms need the session's CSRF token (and our Origin); sign-in state stays on the server; redirects stay ours."""

from __future__ import annotations

import httpx

from bibliomesh_web.app import create_app
from bibliomesh_web.sessions import SessionStore
from bibliomesh_web.settings import WebSettings
from bibliomesh_web.views import safe_next

SETTINGS = WebSettings(public_url="http://web.test", api_url="http://127.0.0.1:9", log_json=False)


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(SETTINGS)), base_url="http://web.test")


async def test_a_form_without_the_sessions_token_is_refused() -> None:
    async with await _client() as client:
        home = await client.get("/", headers={"accept": "text/html"})
        assert home.status_code == 200
        cookie = home.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        token = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = await client.post("/language", data={"lang": "zh", "csrf": "forged"})
        assert refused.status_code == 403
        foreign = await client.post("/language", data={"lang": "zh", "csrf": token},
                                    headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403
        switched = await client.post("/language", data={"lang": "zh", "csrf": token, "next": "//evil.example"})
        assert switched.status_code == 303 and switched.headers["location"] == "/"
        assert "bm_lang=zh" in switched.headers["set-cookie"]


async def test_pages_that_need_a_person_send_the_browser_to_sign_in() -> None:
    async with await _client() as client:
        answer = await client.get("/requests")
        assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=%2Frequests"


async def test_an_unknown_path_is_a_page_for_browsers_and_a_problem_for_programs() -> None:
    async with await _client() as client:
        page = await client.get("/nowhere", headers={"accept": "text/html"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        program = await client.get("/nowhere")
        assert program.status_code == 404 and program.headers["content-type"] == "application/problem+json"


def test_secure_cookies_over_https() -> None:
    assert WebSettings(public_url="https://lib.example").secure_cookies
    assert WebSettings(public_url="http://x", environment="production").secure_cookies


def test_redirects_stay_on_our_site() -> None:
    assert safe_next("/requests/1?x=2") == "/requests/1?x=2"
    assert [safe_next(p) for p in ("//evil.example", "https://evil.example", "/\\evil", None)] == ["/"] * 4


def test_the_store_forgets_the_oldest_sessions_first() -> None:
    store = SessionStore(idle_seconds=60, max_sessions=2)
    first, second, third = store.new(), store.new(), store.new()
    for session in (first, second, third):
        store.save(session)
    assert store.get(first.id) is None and store.get(third.id) is third
    renewed = store.renew(third)
    assert store.get(third.id) is None and renewed.id != third.id and renewed.csrf != third.csrf


async def test_the_demo_accounts_are_shown_only_when_the_demo_is_loaded() -> None:
    demo = create_app(WebSettings(public_url="http://web.test", api_url="http://127.0.0.1:9", log_json=False,
                                  demo_password="Demo-pass-123"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo), base_url="http://web.test") as client:
        assert "Demo-pass-123" in (await client.get("/")).text
    async with await _client() as client:
        assert 'id="demo-password"' not in (await client.get("/")).text
