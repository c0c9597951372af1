"""A deleted webhook takes its deliveries with it: a webhook registered afterwards, by another institution, never
sees them in its log nor gets them posted to its URL, even if it were given the same id (SQLite hands out a freed
rowid again unless the table says AUTOINCREMENT; a PostgreSQL sequence can be set back by a restore)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from notify_fixtures import Notify, WebhookReceiver, new_request_id, notify
from standardwebhooks.webhooks import Webhook

from bibliomesh_notify.adapters.tables import deliveries
from bibliomesh_notify.domain.messages import Channel
from bibliomesh_notify.service_layer.fan_out import queued_delivery
from meshkit.testing import eventually
from tests.support.infra import postgres_database
from tests.support.serving import serving

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@asynccontextmanager
async def notify_on(database: str, tmp_path: Path, clock: Any) -> AsyncIterator[Notify]:
    if database == "sqlite":
        async with notify(tmp_path, clock) as n:
            yield n
    else:
        async with postgres_database("bm_notify_hook_delete") as url, notify(tmp_path, clock, database_url=url) as n:
            yield n


async def _rows(n: Notify) -> list[dict[str, Any]]:
    async with n.runtime.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(sa.select(deliveries).order_by(deliveries.c.id))]


async def _hand_out_ids_again_from(n: Notify, webhook_id: int) -> None:
    """What SQLite without AUTOINCREMENT did by itself: the next webhook gets a freed id again."""
    if n.runtime.engine.dialect.name == "postgresql":
        async with n.runtime.engine.begin() as conn:
            await conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('webhooks', 'id'), :next, false)"),
                               {"next": webhook_id})


@pytest.mark.parametrize("database", DATABASES)
async def test_a_webhook_registered_after_another_was_deleted_gets_none_of_its_deliveries(
        database: str, tmp_path: Path) -> None:
    now = [datetime(2030, 3, 1, 9, 0, tzinfo=UTC)]
    first_owner, second_owner = WebhookReceiver(status=503), WebhookReceiver()
    async with serving(first_owner.app()) as a_base, serving(second_owner.app()) as b_base, \
            notify_on(database, tmp_path, lambda: now[0]) as n:
        await n.institution("CN-A", ill_email=None)
        await n.institution("CN-B", ill_email=None)
        a_admin, b_admin = n.admin_headers("CN-A"), n.admin_headers("CN-B")
        a_hook = (await n.client.post("/notify/webhooks", headers=a_admin, json={
            "url": f"{a_base}/hooks/a", "event_types": ["*"]})).json()
        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-A", lender=None, patron="user:a-patron",
                     title="A's confidential title")

        async def tried_once_and_waiting() -> bool:  # the endpoint failed; the retry waits on the frozen clock
            rows = await _rows(n)
            return len(rows) == 1 and rows[0]["attempts"] == 1 and rows[0]["status"] == "pending"

        await eventually(tried_once_and_waiting)
        assert (await n.client.delete(f"/notify/webhooks/{a_hook['id']}", headers=a_admin)).status_code == 204

        await _hand_out_ids_again_from(n, a_hook["id"])
        created = await n.client.post("/notify/webhooks", headers=b_admin, json={
            "url": f"{b_base}/hooks/b", "event_types": ["ill.request.shipped"]})
        assert created.status_code == 201, created.text
        b_hook = created.json()
        if database == "sqlite":
            assert b_hook["id"] != a_hook["id"]
        log = await n.client.get(f"/notify/webhooks/{b_hook['id']}/deliveries", headers=b_admin)
        assert log.status_code == 200 and log.json() == []
        assert await _rows(n) == []  # the deleted webhook's deliveries went with it

        now[0] += timedelta(hours=2)  # A's retry would be due now
        own_request = new_request_id()
        await n.step("shipped", own_request, borrower="CN-B", lender="CN-C", patron=None)

        async def own_event_arrived() -> bool:
            return len(second_owner.at("b")) >= 1

        await eventually(own_event_arrived)
        await n.settled()
        posted = [Webhook(b_hook["secret"]).verify(m.body, m.headers) for m in second_owner.at("b")]
        assert [(p["type"], p["data"]["request_id"]) for p in posted] == [("ill.request.shipped", own_request)]
        assert len(first_owner.received) == 1  # the one failed try, before the webhook was deleted
        log = (await n.client.get(f"/notify/webhooks/{b_hook['id']}/deliveries", headers=b_admin)).json()
        assert [(d["event_type"], d["status"]) for d in log] == [("ill.request.shipped", "sent")]


@pytest.mark.parametrize("database", DATABASES)
async def test_a_delivery_of_another_institution_is_neither_listed_nor_redelivered_nor_sent(
        database: str, tmp_path: Path) -> None:
    """Defence in depth: however a delivery came to name a webhook of another institution (data older than these
    checks, a restore), the log, redelivery and the sender all refuse it."""
    receiver = WebhookReceiver()
    now = [datetime(2030, 3, 1, 9, 0, tzinfo=UTC)]
    async with serving(receiver.app()) as base, notify_on(database, tmp_path, lambda: now[0]) as n:
        await n.institution("CN-B", ill_email=None)
        b_admin = n.admin_headers("CN-B")
        hook = (await n.client.post("/notify/webhooks", headers=b_admin, json={
            "url": f"{base}/hooks/b", "event_types": ["*"]})).json()
        body = '{"type":"ill.request.submitted","data":{"patron_id":"user:a-patron","borrower":"CN-A"}}'
        stray = queued_delivery("stray-event", f"webhook:{hook['id']}", Channel.WEBHOOK, f"{base}/hooks/b", now[0],
                                kind=None, event_type="ill.request.submitted", language="en", institution="CN-A",
                                context={"body": body}, status="sent", webhook_id=hook["id"])
        async with n.runtime.engine.begin() as conn:
            stray_id = (await conn.execute(sa.insert(deliveries).values(**stray).returning(deliveries.c.id))).scalar()

        log = await n.client.get(f"/notify/webhooks/{hook['id']}/deliveries", headers=b_admin)
        assert log.status_code == 200 and log.json() == []
        redo = await n.client.post(f"/notify/webhooks/{hook['id']}/deliveries/{stray_id}/redeliver",
                                   headers=b_admin)
        assert redo.status_code == 404, redo.text

        async with n.runtime.engine.begin() as conn:  # as if it were waiting to be sent
            await conn.execute(sa.update(deliveries).where(deliveries.c.id == stray_id).values(
                status="pending", next_attempt_at=now[0], sent_at=None))
        own_request = new_request_id()
        await n.step("submitted", own_request, borrower="CN-B", lender=None, patron=None)

        async def own_event_arrived() -> bool:
            return len(receiver.at("b")) >= 1

        await eventually(own_event_arrived)
        await n.settled()
        posted = [Webhook(hook["secret"]).verify(m.body, m.headers) for m in receiver.at("b")]
        assert [p["data"].get("request_id") for p in posted] == [own_request]
        assert stray_id not in [row["id"] for row in await _rows(n)]
