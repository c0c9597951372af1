"""In-app notifications: the caller's own only, newest first, unread count, read marks; and the live stream."""

import asyncio
import json
from pathlib import Path

import httpx
from notify_fixtures import new_request_id, notify, read_events

from meshkit.testing import eventually
from tests.support.serving import serving


async def test_a_patron_sees_only_their_own_notifications_and_marks_them_read(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email=None, name="Ada")
        await n.person("user:bo", "CN-U1", email=None)
        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:ada")
        await n.step("routed", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=2)
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:bo")
        ada, bo = n.person_headers("user:ada", "CN-U1"), n.person_headers("user:bo", "CN-U1")

        async def two() -> bool:
            return len((await n.client.get("/notify/notifications", headers=ada)).json()["items"]) == 2

        await eventually(two)
        page = (await n.client.get("/notify/notifications", headers=ada, params={"limit": 1})).json()
        assert page["unread"] == 2 and page["items"][0]["message_kind"] == "patron.routed"
        older = (await n.client.get("/notify/notifications", headers=ada,
                                    params={"limit": 1, "before": page["next_before"]})).json()
        assert [i["message_kind"] for i in older["items"]] == ["patron.submitted"] and older["next_before"] is None
        first = older["items"][0]["id"]

        assert (await n.client.post(f"/notify/notifications/{first}/read", headers=bo)).status_code == 404
        assert (await n.client.get("/notify/notifications", headers=bo)).json()["unread"] == 1
        read = await n.client.post(f"/notify/notifications/{first}/read", headers=ada)
        assert read.status_code == 200 and read.json()["read_at"] is not None
        assert (await n.client.get("/notify/notifications", headers=ada)).json()["unread"] == 1
        assert (await n.client.post("/notify/notifications/read-all", headers=ada)).json() == {"marked": 1}
        assert (await n.client.get("/notify/notifications")).status_code == 401


async def test_the_stream_pushes_new_notifications_and_resumes_after_last_event_id(tmp_path: Path) -> None:
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email=None)
        ada = n.person_headers("user:ada", "CN-U1")
        request_id = new_request_id()
        async with http.stream("GET", "/notify/stream", headers=ada) as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            reading = asyncio.create_task(read_events(live, 2))
            await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:ada")
            await n.step("routed", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=2)
            first = await asyncio.wait_for(reading, 10)
        assert [(i, e["message_kind"]) for i, e in first] == [(1, "patron.submitted"), (2, "patron.routed")]

        # Disconnected: two more arrive meanwhile; reconnecting after event 1 replays 2, then the new ones.
        await n.step("shipped", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=3)
        await n.step("received", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=4)
        async with http.stream("GET", "/notify/stream", headers={**ada, "Last-Event-ID": "1"}) as resumed:
            again = await asyncio.wait_for(read_events(resumed, 3), 10)
        assert [(i, e["message_kind"]) for i, e in again] == [
            (2, "patron.routed"), (3, "patron.shipped"), (4, "patron.ready_for_pickup")]
        bad = await http.get("/notify/stream", headers={**ada, "Last-Event-ID": "abc"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "Last-Event-ID"


async def test_a_page_cursor_beyond_any_id_is_a_422_naming_it(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        ada = n.person_headers("user:ada", "CN-U1")
        refused = await n.client.get("/notify/notifications", headers=ada, params={"before": 2**63})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "query.before"
        assert (await n.client.get("/notify/notifications", headers=ada, params={"before": 2**63 - 1})).json()[
            "items"] == []


async def test_a_resume_point_that_is_no_event_id_is_refused_before_the_stream_starts(tmp_path: Path) -> None:
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        ada = n.person_headers("user:ada", "CN-U1")
        # b"\xb2" arrives as "²": a digit to str.isdigit(), yet not a number int() reads.
        for value in (b"\xb2", str(2**63).encode(), b"9" * 5000):
            async with http.stream("GET", "/notify/stream", headers={**ada, "Last-Event-ID": value}) as refused:
                assert refused.status_code == 422, value
                assert json.loads(await refused.aread())["errors"][0]["field"] == "Last-Event-ID"
        async with http.stream("GET", "/notify/stream", headers=ada, params={"since": 2**63}) as refused:
            assert refused.status_code == 422
            assert json.loads(await refused.aread())["errors"][0]["field"] == "query.since"
