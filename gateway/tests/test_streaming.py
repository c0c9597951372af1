"""Bodies stream through both ways: an upload reaches the service while it is still being sent, server-sent
events arrive one by one, and a body over the limit is refused with 413."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.tests.gateway_fixtures import FakeService, RestartableServer, bearer, platform, problem, token

CHUNK = b"x" * 65536


async def test_an_upload_reaches_the_service_before_the_caller_has_finished_sending_it() -> None:
    async with platform(route_body_limits={"/catalog/upload": 0}) as gateway, gateway.client() as client:
        service = gateway.services["catalog"]

        async def body() -> AsyncIterator[bytes]:
            yield CHUNK
            # A gateway that held the body until it had all of it would never let the service see this first piece.
            await asyncio.wait_for(service.upload_started.wait(), 5)
            for _ in range(255):
                yield CHUNK

        response = await client.post("/catalog/upload", content=body(), headers=bearer(token()))

        assert response.status_code == 200, response.text
        assert response.json() == {"received": 256 * len(CHUNK)}


async def test_server_sent_events_arrive_one_by_one() -> None:
    async with platform() as gateway, gateway.client() as client:
        events = gateway.services["notify"].events
        await events.put("first")
        async with client.stream("GET", "/notify/events", headers=bearer(token())) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await asyncio.wait_for(anext(lines), 5) == "data: first"
            assert await asyncio.wait_for(anext(lines), 5) == ""
            await events.put("second")  # sent only now that the first one came through
            assert await asyncio.wait_for(anext(lines), 5) == "data: second"
            await events.put(None)


async def test_a_stream_ends_at_the_service_when_the_caller_goes_away() -> None:
    async with platform() as gateway, gateway.client() as client:
        service = gateway.services["notify"]
        await service.events.put("first")
        async with client.stream("GET", "/notify/events", headers=bearer(token())) as response:
            assert await asyncio.wait_for(anext(response.aiter_lines()), 5) == "data: first"
        for _ in range(50):  # the service learns it when it next writes: keep it writing
            await service.events.put("more")
            if service.stream_closed.is_set():
                break
            await asyncio.sleep(0.05)

        assert service.stream_closed.is_set(), "the gateway kept reading a stream nobody listens to"


async def test_a_body_over_the_limit_is_refused_with_413() -> None:
    async with platform(max_body_bytes=1000) as gateway, gateway.client() as client:
        declared = await client.post("/auth/users", content=b"x" * 2000, headers=bearer(token()))

        async def chunked() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"x" * 600

        streamed = await client.post("/catalog/upload", content=chunked(), headers=bearer(token()))

        assert declared.status_code == 413
        assert problem(declared)["detail"] == "the body is larger than 1000 bytes"
        assert gateway.services["auth"].calls == []
        assert streamed.status_code == 413
        assert gateway.services["catalog"].calls == []


async def test_an_upload_announced_with_expect_100_continue_goes_through() -> None:
    async with platform() as gateway, gateway.client() as client:
        response = await client.post("/catalog/upload", content=b"x" * 5000,
                                     headers={"Expect": "100-continue", **bearer(token())})

        assert response.status_code == 200, response.text
        assert response.json() == {"received": 5000}


async def test_a_body_for_the_web_front_end_over_its_limit_is_refused_with_413() -> None:
    web = FakeService("web")
    front = RestartableServer(web.app())
    await front.start()
    try:
        async with platform(web_url=front.url, max_body_bytes=1000, route_body_limits={"/web/upload": 3000}) \
                as gateway, gateway.client() as client:
            declared = await client.post("/web/healthz", content=b"x" * 2000)

            async def chunked(pieces: int) -> AsyncIterator[bytes]:
                for _ in range(pieces):
                    yield b"x" * 600

            streamed = await client.post("/web/upload", content=chunked(6))
            allowed = await client.post("/web/upload", content=chunked(4))

            assert declared.status_code == 413
            assert problem(declared)["detail"] == "the body is larger than 1000 bytes"
            assert streamed.status_code == 413
            assert problem(streamed)["detail"] == "the body is larger than 3000 bytes"
            assert allowed.status_code == 200 and allowed.json() == {"received": 2400}
            assert [call.get("size") for call in web.calls] == [2400]
    finally:
        await front.stop()
