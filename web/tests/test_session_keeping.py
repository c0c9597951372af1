"""A signed-in person keeps their session: visitors without a cookie cannot push it out of the store, and another
site's cookie beside ours in the Cookie header does not hide it."""

from __future__ import annotations

from bibliomesh_web.sessions import SessionStore, User
from web.tests.web_fixtures import browser, signed_in, web_app

PERSON = User(subject="user:1", username="reader", name="Rea Der", institution="CN-DL-LHU", roles=("patron",),
              scopes=frozenset())


def test_anonymous_sessions_are_forgotten_before_any_signed_in_one() -> None:
    store = SessionStore(idle_seconds=600, max_sessions=2)
    person = store.renew(store.new(), user=PERSON)
    visitors = [store.new() for _ in range(5)]
    for visitor in visitors:
        store.save(visitor)
    assert store.get(person.id) is person
    assert [store.get(v.id) is v for v in visitors] == [False, False, False, True, True]


def test_the_store_forgets_the_longest_unused_signed_in_session_when_full_of_them() -> None:
    store = SessionStore(idle_seconds=600, max_sessions=2)
    first, second = store.renew(store.new(), user=PERSON), store.renew(store.new(), user=PERSON)
    assert store.get(first.id) is first
    third = store.renew(store.new(), user=PERSON)
    assert store.get(second.id) is None and store.get(first.id) is first and store.get(third.id) is third


def test_a_session_signed_out_in_place_counts_as_anonymous_from_then_on() -> None:
    store = SessionStore(idle_seconds=600, max_sessions=1)
    person = store.renew(store.new(), user=PERSON)
    person.sign_out()  # its refresh was refused
    assert store.get(person.id) is person
    other = store.renew(store.new(), user=PERSON)
    assert store.get(other.id) is other and store.get(person.id) is person
    store.save(store.new())
    assert store.get(person.id) is None and store.get(other.id) is other


async def test_cookieless_visitors_cannot_push_a_signed_in_person_out() -> None:
    app = web_app(max_sessions=3)
    person = signed_in(app)
    async with browser(app) as stranger:
        for _ in range(10):
            stranger.cookies.clear()
            visited = await stranger.get("/")
            assert visited.status_code == 200 and "set-cookie" in visited.headers
    async with browser(app, person) as client:
        home = await client.get("/")
    assert home.status_code == 200 and "Rea Der" in home.text and "set-cookie" not in home.headers


async def test_cookieless_visitors_cannot_push_out_someone_halfway_through_signing_in() -> None:
    app = web_app(max_sessions=3)
    async with browser(app) as person:
        started = await person.get("/signin")  # off to their identity provider, a sign-in pending
        assert started.status_code == 303
        async with browser(app) as stranger:
            for _ in range(10):
                stranger.cookies.clear()
                assert (await stranger.get("/")).status_code == 200
        state = started.headers["location"].split("state=")[1].split("&")[0]
        back = await person.get("/callback", params={"code": "a-code", "state": state},
                                headers={"accept": "text/html"})
    # Not "your sign-in expired": its pending sign-in was still there (the platform is unreachable here).
    assert back.status_code == 503


async def test_a_cookie_that_python_cannot_parse_does_not_hide_the_session() -> None:
    app = web_app()
    person = signed_in(app)
    async with browser(app) as client:
        cookie = f'prefs={{"theme":"dark"}}; bm_session={person.id}; other=1'
        home = await client.get("/", headers={"cookie": cookie})
        assert home.status_code == 200 and "Rea Der" in home.text and "set-cookie" not in home.headers
        switched = await client.post("/language", data={"lang": "zh", "csrf": person.csrf},
                                     headers={"cookie": cookie})
        assert switched.status_code == 303


async def test_a_signed_in_session_in_a_second_cookie_header_is_found() -> None:
    app = web_app()
    person = signed_in(app)
    async with browser(app) as client:
        home = await client.get("/", headers=[("cookie", "prefs=1"), ("cookie", f"bm_session={person.id}")])
        assert home.status_code == 200 and "Rea Der" in home.text


def test_a_session_the_store_forgets_is_signed_out_there_and_then() -> None:
    # Whatever still holds it (a live notification relay) sees `signed_out` and stops using the person's tokens.
    store = SessionStore(idle_seconds=600, max_sessions=1)
    first = store.renew(store.new(), user=PERSON)
    pushed_out = store.renew(store.new(), user=PERSON)  # the pool holds one: `first` is forgotten
    assert first.signed_out.is_set() and first.user is None
    renewed = store.renew(pushed_out)  # signing out
    assert pushed_out.signed_out.is_set() and pushed_out.user is None and not renewed.signed_out.is_set()
    idle = store.renew(store.new(), user=PERSON)
    idle.seen -= 601
    assert store.get(idle.id) is None and idle.signed_out.is_set()
