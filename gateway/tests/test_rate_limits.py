"""Rate limits: a burst from one caller is refused with 429 and RateLimit headers; other callers go on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio

from bibliomesh_gateway import rate_limits
from gateway.tests.gateway_fixtures import bearer, platform, problem, token

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_a_burst_from_one_caller_is_limited_while_another_caller_goes_on() -> None:
    async with platform(rate_limit_caller="5/minute", rate_limit_institution="100/minute") as gateway, \
            gateway.client() as client:
        busy, other = bearer(token("client:busy")), bearer(token("client:other"))
        remaining = []
        for _ in range(5):
            response = await client.get("/ill/requests", headers=busy)
            assert response.status_code == 200
            remaining.append(quota_state(response)["r"])
        refused = await client.get("/ill/requests", headers=busy)
        answered = await client.get("/ill/requests", headers=other)

        assert remaining == [4, 3, 2, 1, 0]
        assert response.headers["ratelimit-policy"] == '"caller";q=5;w=60'
        assert response.headers["ratelimit"].startswith('"caller";')
        assert refused.status_code == 429
        assert problem(refused)["status"] == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert quota_state(refused)["r"] == 0
        assert 1 <= quota_state(refused)["t"] <= 60
        assert quota_state(refused)["t"] == int(refused.headers["retry-after"])  # one point in time, as the draft asks
        assert answered.status_code == 200
        assert quota_state(answered)["r"] == 4
        assert len(gateway.services["ill"].calls) == 6  # the refused call never reached the service


async def test_an_institution_shares_one_limit_and_other_institutions_do_not_feel_it() -> None:
    async with platform(rate_limit_caller="5/minute", rate_limit_institution="7/minute") as gateway, \
            gateway.client() as client:
        for subject in ("client:a", "client:b"):
            for _ in range(3):
                assert (await client.get("/ill/requests", headers=bearer(token(subject)))).status_code == 200
        assert (await client.get("/ill/requests", headers=bearer(token("client:c")))).status_code == 200
        refused = await client.get("/ill/requests", headers=bearer(token("client:c")))
        elsewhere = await client.get("/ill/requests", headers=bearer(token("client:d", institution="CN-SH-FDU")))

        assert refused.status_code == 429
        assert refused.headers["ratelimit-policy"] == '"institution";q=7;w=60'
        assert elsewhere.status_code == 200


async def test_anonymous_callers_are_limited_per_address_and_bad_tokens_count() -> None:
    async with platform(rate_limit_anonymous="3/minute") as gateway, gateway.client() as client:
        assert (await client.get("/catalog/search", params={"q": "a"})).status_code == 200
        assert (await client.get("/ill/requests", headers=bearer("not.a.token"))).status_code == 401
        assert (await client.get("/catalog/search", params={"q": "b"})).status_code == 200
        refused = await client.get("/catalog/search", params={"q": "c"})
        guessing = await client.get("/ill/requests", headers=bearer("another.bad.token"))
        signed_in = await client.get("/catalog/search", params={"q": "d"}, headers=bearer(token()))

        assert refused.status_code == 429
        assert refused.headers["ratelimit-policy"] == '"address";q=3;w=60'
        assert guessing.status_code == 429
        assert signed_in.status_code == 200  # a signed-in caller from the same address has its own limit


def quota_state(response: httpx.Response) -> dict[str, int]:
    """The parameters of the `RateLimit` field (a structured-field item: `"policy";r=4;t=60`)."""
    _policy, *parameters = response.headers["ratelimit"].split(";")
    return {name: int(value) for name, value in (parameter.split("=") for parameter in parameters)}


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the machine's Redis, and its keys removed afterwards."""
    prefix = f"bm-test-gateway-{uuid.uuid4().hex}"
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}; start it with `redis-server --daemonize yes`")
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_two_gateways_share_one_limit_through_redis(redis_prefix: str) -> None:
    shared = {"mode": "distributed", "redis_url": REDIS_URL, "rate_limit_key_prefix": redis_prefix,
              "rate_limit_caller": "4/minute"}
    busy = bearer(token("client:busy"))
    async with platform(**shared) as first, platform(**shared) as second, first.client() as one, \
            second.client() as two:
        answers = [(await client.get("/ill/requests", headers=busy)).status_code for client in (one, two, one, two)]
        refused_by_first = await one.get("/ill/requests", headers=busy)
        refused_by_second = await two.get("/ill/requests", headers=busy)

        assert answers == [200, 200, 200, 200]
        assert refused_by_first.status_code == refused_by_second.status_code == 429
        assert len(first.services["ill"].calls) + len(second.services["ill"].calls) == 4


async def test_calls_go_through_when_the_counters_are_unreachable() -> None:
    unreachable = {"mode": "distributed", "redis_url": "redis://127.0.0.1:9/0", "rate_limit_caller": "1/minute"}
    async with platform(**unreachable) as gateway, gateway.client() as client:
        answers = [(await client.get("/ill/requests", headers=bearer(token()))).status_code for _ in range(3)]

        assert answers == [200, 200, 200]


def test_memory_counters_start_a_new_window_when_one_ends_and_sweep_what_nobody_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000.0]
    monkeypatch.setattr(rate_limits.time, "time", lambda: now[0])
    counters = rate_limits.MemoryCounters(sweep_seconds=0)
    assert [counters.hit("caller/a", 60)[0] for _ in range(3)] == [1, 2, 3]
    assert counters.hit("caller/a", 60)[1] == 1_060.0
    counters.hit("caller/b", 10)
    counters.hit("caller/c", 10)
    now[0] = 1_030.0
    assert counters.get("caller/b") == 0  # its window ended: the library's own read says so
    assert counters.hit("caller/a", 60) == (5, 1_060.0)  # the same window goes on
    assert "caller/c" in counters.storage  # nobody read it since
    counters.sweep()
    assert "caller/c" not in counters.storage and "caller/c" not in counters.expirations
    assert counters.get("caller/a") == 5
    now[0] = 1_061.0
    assert counters.hit("caller/a", 60) == (1, 1_121.0)  # a new window
    assert counters.timer.is_alive()  # the library starts no expiry thread of its own


def test_a_sweep_visits_only_the_windows_that_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000.0]
    monkeypatch.setattr(rate_limits.time, "time", lambda: now[0])
    counters = rate_limits.MemoryCounters(sweep_seconds=3600)
    for address in range(10_000):
        counters.hit(f"address/{address}", 60)
    counters.hit("caller/short", 10)
    now[0] = 1_020.0
    counters.hit("caller/short", 10)  # a new window: the first one's end is stale now
    visited = []
    original = rate_limits.heapq.heappop
    monkeypatch.setattr(rate_limits.heapq, "heappop", lambda heap: visited.append(original(heap)) or visited[-1])
    counters.sweep()
    assert visited == [(1_010.0, "caller/short")]  # not the 10,000 counters still running
    assert counters.get("caller/short") == 1  # its current window survived its stale entry
    now[0] = 1_061.0
    counters.sweep()
    assert counters.storage == {} and counters.expirations == {} and counters._window_ends == []
    assert counters.hit("caller/short", 10) == (1, 1_071.0)


def test_the_cache_of_counter_keys_never_grows_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limits, "MAX_CACHED_KEYS", 3)
    limits = rate_limits.RateLimits.in_memory(anonymous="5/minute", caller="5/minute", institution="5/minute")
    for address in range(10):
        assert limits.charge_in_memory(None, f"10.0.0.{address}").allowed
    assert len(limits.anonymous._keys) <= 3
    assert [limits.charge_in_memory(None, "10.0.0.9").remaining for _ in range(2)] == [3, 2]  # the same counter
