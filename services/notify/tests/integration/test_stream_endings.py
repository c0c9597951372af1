"""A live stream ends when the access token that opened it expires, when its person is disabled, and when its
person opens more than the cap; each time it says why, and reconnecting with `Last-Event-ID` loses nothing."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from notify_fixtures import Events, ada, new_request_id, notify, stream_opener

from bibliomesh_notify.adapters.tables import people
from meshkit.testing import eventually
from tests.support.serving import serving


async def test_a_stream_ends_when_its_token_expires_and_resumes_with_a_new_one(tmp_path: Path) -> None:
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        await ada(n)
        request_id = new_request_id()
        short = n.tokens.headers("CN-U1", roles=["patron"], subject="user:ada", expires_in=3)
        opened = time.time()
        async with http.stream("GET", "/notify/stream", headers=short) as live:
            events = Events(live)
            await events.first_line()
            await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:ada")
            [(name, data)] = await asyncio.wait_for(events.take(1), 10)
            assert (name, data["seq"]) == ("notification", 1)
            rest = await asyncio.wait_for(events.take(None), 10)
        assert rest == [("end", {"reason": "token_expired"})]
        assert 2 <= time.time() - opened < 6

        # What arrives meanwhile is there when the client comes back with a current token and Last-Event-ID.
        await n.step("routed", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=2)
        fresh = {**n.person_headers("user:ada", "CN-U1"), "Last-Event-ID": "1"}
        async with http.stream("GET", "/notify/stream", headers=fresh) as resumed:
            again = await asyncio.wait_for(Events(resumed).take(1), 10)
        assert [(e["seq"], e["message_kind"]) for _, e in again] == [(2, "patron.routed")]

        # A token past its expiry (yet within the verifier's leeway for clock skew) opens nothing.
        expired = n.tokens.headers("CN-U1", roles=["patron"], subject="user:ada", expires_in=-5)
        async with http.stream("GET", "/notify/stream", headers=expired) as refused:
            assert refused.status_code == 401
            assert "expired" in json.loads(await refused.aread())["detail"]


async def test_a_disabled_person_s_streams_end_and_no_new_one_opens(tmp_path: Path) -> None:
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        await ada(n)
        headers = n.person_headers("user:ada", "CN-U1")
        async with http.stream("GET", "/notify/stream", headers=headers) as live:
            events = Events(live)
            await events.first_line()
            await n.person("user:ada", "CN-U1", email=None, status="disabled")
            assert await asyncio.wait_for(events.take(None), 10) == [("end", {"reason": "account_disabled"})]
        async with http.stream("GET", "/notify/stream", headers=headers) as refused:
            assert refused.status_code == 403


async def test_a_stream_in_another_replica_finds_its_person_disabled(tmp_path: Path) -> None:
    async with notify(tmp_path, stream_recheck_seconds=0.2) as n, serving(n.app) as base, \
            httpx.AsyncClient(base_url=base, timeout=20) as http:
        await ada(n)
        async with http.stream("GET", "/notify/stream", headers=n.person_headers("user:ada", "CN-U1")) as live:
            events = Events(live)
            await events.first_line()
            # as another replica's consumer would leave it: the row changed, no word to this replica
            async with n.runtime.engine.begin() as conn:
                await conn.execute(sa.update(people).where(people.c.subject == "user:ada").values(status="disabled"))
            assert await asyncio.wait_for(events.take(None), 10) == [("end", {"reason": "account_disabled"})]


async def test_a_person_has_at_most_five_streams_and_the_oldest_gives_way(tmp_path: Path) -> None:
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        await ada(n)
        async with asyncio.timeout(20), stream_opener(http, n.person_headers("user:ada", "CN-U1")) as open_stream:
            oldest, *others = [await open_stream() for _ in range(6)]
            assert await oldest.take(None) == [("end", {"reason": "superseded"})]
            assert n.app.state.notify.streams.running("user:ada") == 5
            # the five still open get what comes next
            reading = [asyncio.create_task(events.take(1)) for events in others]
            await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada")
            for got in await asyncio.gather(*reading):
                assert [(name, data["message_kind"]) for name, data in got] == [("notification", "patron.submitted")]

        async def all_closed() -> bool:
            return bool(n.app.state.notify.streams.running("user:ada") == 0)

        await eventually(all_closed)


async def test_a_head_at_the_cap_opens_no_stream_and_ends_none(tmp_path: Path) -> None:
    # Monitors and link checkers ask with HEAD: the headers of a stream, and the person's five open ones go on.
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        await ada(n)
        headers = n.person_headers("user:ada", "CN-U1")
        async with asyncio.timeout(20), stream_opener(http, headers) as open_stream:
            opened = [await open_stream() for _ in range(5)]
            head = await http.head("/notify/stream", headers=headers)
            assert head.status_code == 200 and head.content == b""
            assert head.headers["content-type"].startswith("text/event-stream")
            assert head.headers["cache-control"] == "no-cache"
            reading = [asyncio.create_task(events.take(1)) for events in opened]
            await asyncio.sleep(0.5)  # several of the streams' polls: a superseded one would have ended
            assert n.app.state.notify.streams.running("user:ada") == 5
            await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada")
            for got in await asyncio.gather(*reading):
                assert [(name, data["message_kind"]) for name, data in got] == [("notification", "patron.submitted")]
            # and a HEAD is refused as its GET would be
            assert (await http.head("/notify/stream")).status_code == 401
