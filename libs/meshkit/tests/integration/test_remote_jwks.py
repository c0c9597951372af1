"""Tokens keep being accepted while the auth service is down (for a bounded time), without a fetch per request.

The JWKS is served by a real HTTP server on loopback; only the clock is the test's, so hours pass in no time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meshkit.problems import Unauthorized
from meshkit.security import RemoteJwks, TokenVerifier
from tests.support.serving import serving
from tests.support.waiting import wait_for

ISSUER = "http://auth.test"
AUDIENCE = "bibliomesh"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class AuthService:
    """Serves the JWKS of `keys`; `broken` makes it answer 503; a cleared `gate` holds every answer back."""

    keys: list[ECKey]
    broken: bool = False
    fetches: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    def app(self) -> Starlette:
        async def jwks(_request: Request) -> Response:
            self.fetches += 1
            await self.gate.wait()
            if self.broken:
                return JSONResponse({"detail": "down"}, status_code=503)
            return JSONResponse(KeySet(list(self.keys)).as_dict(private=False))

        return Starlette(routes=[Route("/auth/jwks", jwks)])


def new_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)


def token(key: ECKey) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "patron-1", "institution": "CN-BJ-PKU",
                              "exp": now + 3600, "iat": now, "scope": "ill:read"}
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, claims, key)


@asynccontextmanager
async def verifier_for(auth: AuthService, clock: Clock) -> AsyncIterator[tuple[TokenVerifier, RemoteJwks, str]]:
    async with serving(auth.app(), "/auth/jwks") as url:
        keys = RemoteJwks(url, ttl_seconds=300, min_refresh_seconds=5, max_stale_seconds=86_400,
                          retry_after_failure_seconds=30, timeout_seconds=5, clock=clock)
        yield TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE), keys, url


async def test_cached_keys_keep_valid_tokens_accepted_while_the_auth_service_is_down() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing])
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        assert (await verifier.verify(token(signing))).institution == "CN-BJ-PKU"
    # The auth service is gone (its server stopped) for longer than the cache's TTL.

    clock.advance(301)
    assert (await verifier.verify(token(signing))).subject == "patron-1"
    clock.advance(23 * 3600)
    assert (await verifier.verify(token(signing))).subject == "patron-1"

    clock.advance(3600 + 1)  # keys last fetched more than a day ago: too old to trust any longer
    with pytest.raises(Unauthorized, match="signing keys are unavailable") as refused:
        await verifier.verify(token(signing))
    assert isinstance(refused.value.__cause__, httpx.HTTPError)  # the gateway answers 503 for this cause


async def test_after_a_failed_refresh_the_next_attempt_waits_instead_of_every_request_retrying() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing])
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        await verifier.verify(token(signing))
        assert auth.fetches == 1

        auth.broken = True
        clock.advance(301)
        for _ in range(5):
            await verifier.verify(token(signing))
        assert auth.fetches == 2  # one failed refresh, then the cached keys

        clock.advance(29)
        await verifier.verify(token(signing))
        assert auth.fetches == 2
        clock.advance(2)
        await verifier.verify(token(signing))
        assert auth.fetches == 3

        auth.broken = False
        clock.advance(31)
        await verifier.verify(token(signing))
        assert auth.fetches == 4
        clock.advance(60)
        await verifier.verify(token(signing))
        assert auth.fetches == 4  # healthy again: fresh keys are kept for the whole TTL


async def test_a_new_key_id_is_still_fetched_at_once_and_at_a_bounded_rate_while_failing() -> None:
    clock, first, second = Clock(), new_key("k1"), new_key("k2")
    auth = AuthService([first])
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        await verifier.verify(token(first))

        auth.keys.append(second)  # published before anyone signs with it
        clock.advance(6)
        assert (await verifier.verify(token(second))).subject == "patron-1"
        assert auth.fetches == 2

        auth.broken = True
        unknown = new_key("k3")
        clock.advance(6)
        with pytest.raises(Unauthorized, match="invalid access token"):
            await verifier.verify(token(unknown))
        assert auth.fetches == 3
        for _ in range(3):
            with pytest.raises(Unauthorized, match="invalid access token"):
                await verifier.verify(token(unknown))
        assert auth.fetches == 3  # a flood of unknown key ids does not hammer a failing auth service
        assert (await verifier.verify(token(second))).subject == "patron-1"


async def test_requests_are_not_held_behind_a_slow_refresh_when_cached_keys_are_good() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing])
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        await verifier.verify(token(signing))

        auth.gate.clear()  # the auth service hangs
        clock.advance(301)
        refreshing = asyncio.create_task(verifier.verify(token(signing)))

        async def fetches() -> int:
            return auth.fetches

        await wait_for(fetches, lambda n: n == 2, what="the refresh to reach the auth service")
        try:
            async with asyncio.timeout(2):
                assert (await verifier.verify(token(signing))).subject == "patron-1"
        finally:
            auth.gate.set()
        assert (await refreshing).subject == "patron-1"


async def test_without_any_keys_a_down_auth_service_is_asked_again_only_after_a_pause() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing], broken=True)
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        for _ in range(3):
            with pytest.raises(Unauthorized, match="signing keys are unavailable"):
                await verifier.verify(token(signing))
        assert auth.fetches == 1

        auth.broken = False
        clock.advance(5)
        assert (await verifier.verify(token(signing))).subject == "patron-1"
        assert auth.fetches == 2


async def test_a_burst_of_first_calls_waits_for_the_one_fetch_in_flight_instead_of_failing() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing])
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        auth.gate.clear()  # the first fetch is slow: every other caller arrives while it is in flight
        first = asyncio.create_task(verifier.verify(token(signing)))

        async def fetches() -> int:
            return auth.fetches

        await wait_for(fetches, lambda n: n == 1, what="the first fetch to reach the auth service")
        burst = [asyncio.create_task(verifier.verify(token(signing))) for _ in range(20)]
        await asyncio.sleep(0.05)
        auth.gate.set()
        principals = await asyncio.gather(first, *burst)
        assert {p.subject for p in principals} == {"patron-1"}
        assert auth.fetches == 1


async def test_a_new_key_id_seen_during_a_refresh_waits_for_that_refresh() -> None:
    clock, first, second = Clock(), new_key("k1"), new_key("k2")
    auth = AuthService([first])
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        await verifier.verify(token(first))
        auth.keys.append(second)
        auth.gate.clear()
        clock.advance(6)
        refreshing = asyncio.create_task(verifier.verify(token(second)))

        async def fetches() -> int:
            return auth.fetches

        await wait_for(fetches, lambda n: n == 2, what="the refresh to reach the auth service")
        also_new = asyncio.create_task(verifier.verify(token(second)))
        await asyncio.sleep(0.05)
        auth.gate.set()
        assert [p.subject for p in await asyncio.gather(refreshing, also_new)] == ["patron-1", "patron-1"]
        assert auth.fetches == 2


async def test_callers_queued_behind_a_failing_fetch_take_its_answer_instead_of_each_fetching_again() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing], broken=True)
    async with verifier_for(auth, clock) as (verifier, _keys, _url):
        auth.gate.clear()  # the auth service is slow, then fails
        first = asyncio.create_task(verifier.verify(token(signing)))

        async def fetches() -> int:
            return auth.fetches

        await wait_for(fetches, lambda n: n == 1, what="the first fetch to reach the auth service")
        clock.advance(6)  # the fetch is still in flight when the pause after an attempt is over
        queued = [asyncio.create_task(verifier.verify(token(signing))) for _ in range(5)]
        await asyncio.sleep(0.05)
        auth.gate.set()
        for outcome in await asyncio.gather(first, *queued, return_exceptions=True):
            assert isinstance(outcome, Unauthorized)
        assert auth.fetches == 1


async def test_a_maximum_staleness_below_the_cache_lifetime_refetches_instead_of_refusing() -> None:
    clock, signing = Clock(), new_key("k1")
    auth = AuthService([signing])
    async with serving(auth.app(), "/auth/jwks") as url:
        keys = RemoteJwks(url, ttl_seconds=300, max_stale_seconds=60, clock=clock)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        await verifier.verify(token(signing))
        clock.advance(100)
        assert (await verifier.verify(token(signing))).subject == "patron-1"
        assert auth.fetches == 2
