"""A patron notify does not know yet (not announced by the directory) may be anybody's subject, named by the
borrowing library's staff or an ISO 18626 peer: what the request tells them is held, shown on no read path, until
the person is announced as of the borrowing library's university, and kept hidden if they are of another."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from notify_fixtures import Notify, mail_server, new_request_id, notify, read_events

from bibliomesh_notify.adapters.tables import notifications, people, recipient_sequences
from bibliomesh_notify.bootstrap import MIGRATIONS
from bibliomesh_notify.settings import NotifySettings
from meshkit.db import create_engine
from meshkit.migrations import upgrade
from meshkit.testing import eventually
from tests.support.infra import postgres_database
from tests.support.serving import serving

STRANGERS_TITLE = "Dream of the Red Chamber"


async def stored(n: Notify, subject: str) -> list[int]:
    async with n.runtime.engine.connect() as conn:
        return list((await conn.scalars(sa.select(notifications.c.id).where(
            notifications.c.recipient == subject).order_by(notifications.c.id))).all())


async def sees_nothing(n: Notify, http: httpx.AsyncClient, headers: dict[str, str], ids: list[int]) -> None:
    """No read path shows or counts `ids`, nor lets the caller mark them read."""
    page = (await n.client.get("/notify/notifications", headers=headers)).json()
    assert (page["items"], page["unread"]) == ([], 0)
    for notification_id in ids:
        assert (await n.client.post(f"/notify/notifications/{notification_id}/read",
                                    headers=headers)).status_code == 404
    assert (await n.client.post("/notify/notifications/read-all", headers=headers)).json() == {"marked": 0}
    async with http.stream("GET", "/notify/stream", headers=headers, params={"since": 0}) as live:
        with pytest.raises(TimeoutError):  # the stream polls every 0.1 s: anything stored would be here by now
            await asyncio.wait_for(read_events(live, 1), 1.0)


async def test_a_subject_named_as_patron_before_being_announced_as_of_another_university_never_sees_it(
        tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n, \
            serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu")
        await n.institution("CN-U2", ill_email=None)
        await n.person("user:staff-u1", "CN-U1", email=None, roles=("staff",))
        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:yan", title=STRANGERS_TITLE)
        await n.step("shipped", request_id, borrower="CN-U1", lender="CN-PL", patron="user:yan", version=2,
                     title=STRANGERS_TITLE)
        staff = n.person_headers("user:staff-u1", "CN-U1", roles=("staff",))

        async def staff_told() -> bool:  # steps are handled in order: both are done
            items = (await n.client.get("/notify/notifications", headers=staff)).json()["items"]
            return [i["message_kind"] for i in items] == ["borrower.item_shipped"]

        await eventually(staff_told)
        held = await stored(n, "user:yan")
        assert len(held) == 2
        yan = n.person_headers("user:yan", "CN-U2")
        await sees_nothing(n, http, yan, held)  # signed in before notify has heard of them

        await n.person("user:yan", "CN-U2", email="yan@u2.example.edu", name="Yan")
        await sees_nothing(n, http, yan, held)
        assert len(await stored(n, "user:yan")) == 2  # kept hidden, not deleted: the directory may be behind

        # What their own university tells them reaches them, and is the first thing their stream ever sends.
        await n.step("submitted", new_request_id(), borrower="CN-U2", lender=None, patron="user:yan",
                     title="Journey to the West")

        async def told() -> bool:
            return (await n.client.get("/notify/notifications", headers=yan)).json()["unread"] == 1

        await eventually(told)
        async with http.stream("GET", "/notify/stream", headers=yan, params={"since": 0}) as live:
            [(_, first)] = await asyncio.wait_for(read_events(live, 1), 10)
        assert first["institution"] == "CN-U2" and STRANGERS_TITLE not in str(first["body"])
        await n.settled(at_least=2)
        assert len(smtp.to("yan@u2.example.edu")) == 1
        assert all(STRANGERS_TITLE not in m.get_body(("plain",)).get_content()
                   for m in smtp.to("yan@u2.example.edu"))


async def test_a_subject_named_as_patron_before_being_announced_as_of_the_borrowers_university_sees_it(
        tmp_path: Path) -> None:
    async with notify(tmp_path) as n, serving(n.app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        await n.institution("CN-U1", ill_email=None)
        await n.institution("CN-U1-LAW", ill_email=None, kind="branch-library", parent_code="CN-U1")
        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:ada")
        await n.step("shipped", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=2)

        async def stored_both() -> bool:
            return len(await stored(n, "user:ada")) == 2

        await eventually(stored_both)
        ada = n.person_headers("user:ada", "CN-U1-LAW")
        await sees_nothing(n, http, ada, await stored(n, "user:ada"))

        async with http.stream("GET", "/notify/stream", headers=ada) as live:  # from now on
            reading = asyncio.create_task(read_events(live, 1))
            await n.person("user:ada", "CN-U1-LAW", email=None, status="disabled")
            assert await asyncio.wait_for(reading, 10) == []  # a disabled person's stream ends, showing nothing
        assert (await n.client.get("/notify/notifications", headers=ada)).json()["items"] == []
        async with http.stream("GET", "/notify/stream", headers=ada) as refused:
            assert refused.status_code == 403
        await n.person("user:ada", "CN-U1-LAW", email=None)
        async with http.stream("GET", "/notify/stream", headers=ada, params={"since": 0}) as live:
            pushed = await asyncio.wait_for(read_events(live, 2), 10)
        assert [e["message_kind"] for _, e in pushed] == ["patron.submitted", "patron.shipped"]

        page = (await n.client.get("/notify/notifications", headers=ada)).json()
        assert [i["message_kind"] for i in page["items"]] == ["patron.shipped", "patron.submitted"]
        assert page["unread"] == 2 and {i["request_id"] for i in page["items"]} == {request_id}
        read = await n.client.post(f"/notify/notifications/{page['items'][1]['id']}/read", headers=ada)
        assert read.status_code == 200 and read.json()["read_at"] is not None
        assert (await n.client.post("/notify/notifications/read-all", headers=ada)).json() == {"marked": 1}


async def _stored_before_the_fix(url: str) -> None:
    """A database at revision 0004 holding a message for an unannounced patron and one for an announced one."""
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0004")
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(people).values(
                subject="user:bo", institution="CN-U1", display_name=None, email=None, language="en",
                roles=["patron"], status="active", version=1))
            await conn.execute(sa.insert(notifications), [
                {"recipient": subject, "seq": 1, "dedup_key": f"k-{subject}", "message_kind": "patron.submitted",
                 "event_type": "ill.request.submitted", "institution": "CN-U1", "request_id": "r-1",
                 "title": "t", "body": "b", "created_at": now} for subject in ("user:yan", "user:bo")])
            await conn.execute(sa.insert(recipient_sequences), [
                {"recipient": "user:yan", "last_seq": 1}, {"recipient": "user:bo", "last_seq": 1}])
    finally:
        await engine.dispose()


async def _after_the_upgrade(n: Notify) -> None:
    async def kinds(subject: str, institution: str) -> list[str]:
        page = (await n.client.get("/notify/notifications",
                                   headers=n.person_headers(subject, institution))).json()
        return [i["message_kind"] for i in page["items"]]

    assert await kinds("user:bo", "CN-U1") == ["patron.submitted"]
    assert await kinds("user:yan", "CN-U2") == []
    await n.institution("CN-U1", ill_email=None)
    await n.person("user:yan", "CN-U1", email=None)
    assert await kinds("user:yan", "CN-U1") == ["patron.submitted"]


async def test_messages_stored_for_unannounced_patrons_before_the_upgrade_are_held_too(tmp_path: Path) -> None:
    await _stored_before_the_fix(NotifySettings(data_dir=tmp_path).effective_database_url())
    async with notify(tmp_path) as n:
        await _after_the_upgrade(n)


@pytest.mark.integration
async def test_messages_stored_for_unannounced_patrons_before_the_upgrade_are_held_too_on_postgresql(
        tmp_path: Path) -> None:
    async with postgres_database("bm_notify_held") as url:
        await _stored_before_the_fix(url)
        async with notify(tmp_path, database_url=url) as n:
            await _after_the_upgrade(n)
