"""A service that is down is answered for at once; retries only for idempotent calls, within a budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.tests.gateway_fixtures import bearer, platform, problem, token


@asynccontextmanager
async def broken_service(answer: bool) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A TCP server that reads each request head and then hangs up (`answer=False`) or never answers at all."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            if answer is False:
                writer.close()
                return
            await asyncio.sleep(3600)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", heads
    finally:
        server.close()


async def test_a_stopped_service_is_answered_for_at_once_while_others_answer_and_it_comes_back() -> None:
    async with platform(breaker_failure_threshold=2, breaker_open_seconds=0.5) as gateway, \
            gateway.client() as client:
        headers = bearer(token())
        await gateway.servers["ill"].stop()

        first = await client.get("/ill/requests", headers=headers)  # the call and its retry fail: breaker opens
        started = time.perf_counter()
        refused = await client.get("/ill/requests", headers=headers)
        refused_in = time.perf_counter() - started
        others = await client.get("/catalog/search", params={"q": "x"})
        await gateway.servers["ill"].start()
        still_open = await client.get("/ill/requests", headers=headers)  # not even tried until the pause is over
        states = (await client.get("/readyz")).json()
        await asyncio.sleep(0.6)
        probe = await client.get("/ill/requests", headers=headers)
        after = await client.get("/ill/requests", headers=headers)

        assert first.status_code == 503
        assert problem(first)["detail"] == "the ill service is unavailable; try again shortly"  # before the breaker
        assert refused.status_code == 503 and refused_in < 0.1
        body = problem(refused)
        assert body["detail"] == "the ill service is unavailable; try again shortly"
        assert "127.0.0.1" not in refused.text and "Error" not in refused.text  # no internals
        assert 1 <= int(refused.headers["retry-after"]) <= 1
        assert others.status_code == 200
        assert still_open.status_code == 503
        assert states["breakers"]["ill"] == "open" and states["breakers"]["catalog"] == "closed"
        assert probe.status_code == after.status_code == 200
        assert len(gateway.services["ill"].calls) == 2


async def test_a_hanging_service_times_out_then_is_refused_at_once() -> None:
    async with broken_service(answer=True) as (url, heads), \
            platform(ill_url=url, upstream_timeout_seconds=0.2, breaker_failure_threshold=2) as gateway, \
            gateway.client() as client:
        headers = bearer(token())
        timed_out = [await client.get("/ill/requests", headers=headers) for _ in range(2)]
        started = time.perf_counter()
        refused = await client.get("/ill/requests", headers=headers)

        assert [r.status_code for r in timed_out] == [504, 504]
        assert problem(timed_out[0])["detail"] == "the ill service timed out; try again shortly"
        assert refused.status_code == 503 and time.perf_counter() - started < 0.1
        assert len(heads) == 2  # timeouts are not retried: the service may still be working on it


async def test_only_idempotent_calls_are_retried_and_only_within_the_budget() -> None:
    async with broken_service(answer=False) as (url, heads), \
            platform(ill_url=url, breaker_failure_threshold=100, retry_attempts=1, retry_budget_ratio=0,
                     retry_budget_minimum=1) as gateway, gateway.client() as client:
        headers = bearer(token())
        posted = await client.post("/ill/requests", json={"cluster_id": "c1"}, headers=headers)
        after_post = len(heads)
        got = await client.get("/ill/requests", headers=headers)
        after_get = len(heads)
        over_budget = await client.get("/ill/requests", headers=headers)

        assert posted.status_code == got.status_code == over_budget.status_code == 503
        assert after_post == 1  # a POST is never sent twice
        assert after_get - after_post == 2  # the GET and its one retry
        assert len(heads) - after_get == 1  # the budget (one retry per 10 s here) is spent


async def test_each_route_has_its_own_timeout() -> None:
    async with platform(route_timeouts={"/ill/slow": 0.2}) as gateway, gateway.client() as client:
        headers = bearer(token())
        started = time.perf_counter()
        cut_short = await client.get("/ill/slow", params={"seconds": 2}, headers=headers)
        waited_for = await client.get("/catalog/slow", params={"seconds": 0.4}, headers=headers)

        assert cut_short.status_code == 504 and time.perf_counter() - started < 1.5
        assert waited_for.status_code == 200


async def test_a_service_may_take_its_time_while_its_answer_keeps_moving_but_not_fall_silent_midway() -> None:
    async with platform(route_timeouts={"/ill/trickle": 0.3}) as gateway, gateway.client() as client:
        headers = bearer(token())
        moving = await client.get("/ill/trickle", params={"pieces": 5, "every": 0.2}, headers=headers)
        started = time.perf_counter()
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):  # cut off: the caller must not take it for the whole answer
            async with client.stream("GET", "/ill/trickle", params={"pieces": 2, "every": 0.1, "stall": 5},
                                     headers=headers) as silent:
                async for chunk in silent.aiter_bytes():
                    received += chunk

        assert moving.status_code == 200 and moving.text.endswith("piece 4\nend\n")  # 0.8 s in all, 0.2 s gaps
        assert silent.status_code == 200 and received == b"piece 0\npiece 1\n"
        assert time.perf_counter() - started < 3
