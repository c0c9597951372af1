"""Migration 0008 on a database used before it: every row is kept, except webhook deliveries no webhook of their
institution owns any more; and on SQLite no id a client has seen (of a webhook, a delivery, a notification) is handed
out again, not even that of a webhook deleted before the migration (its deliveries named it)."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bibliomesh_notify.adapters.tables import deliveries, notifications, webhooks
from bibliomesh_notify.bootstrap import MIGRATIONS
from meshkit.db import create_engine
from meshkit.migrations import upgrade
from tests.support.infra import database_on

T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


def _webhook(institution: str, created_at: datetime) -> dict[str, Any]:
    return {"institution": institution, "url": f"https://{institution.lower()}.example.org/hook",
            "event_types": ["*"], "description": None, "secret": "fernet:x", "enabled": True,
            "disabled_reason": None, "consecutive_failures": 0, "created_at": created_at, "updated_at": created_at,
            "version": 1}


def _delivery(key: str, webhook_id: int, institution: str, created_at: datetime, status: str) -> dict[str, Any]:
    return {"dedup_key": key, "recipient": f"webhook:{webhook_id}", "channel": "webhook",
            "address": "https://x.example.org/hook", "message_kind": None, "event_type": "ill.request.submitted",
            "language": "en", "institution": institution, "webhook_id": webhook_id, "context": {"body": key},
            "message_id": key, "status": status, "attempts": 0, "next_attempt_at": created_at, "created_at": created_at}


def _notification(recipient: str, seq: int) -> dict[str, Any]:
    return {"recipient": recipient, "seq": seq, "dedup_key": f"k{seq}", "message_kind": "patron.submitted",
            "event_type": None, "institution": "CN-A", "request_id": None, "title": "t", "body": "b",
            "created_at": T0}


async def _used_before_0008(url: str) -> None:
    """Webhooks 1 (CN-A) and 2 (CN-B) and 3 (deleted); on SQLite, 2 took the id of a deleted webhook of CN-A."""
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0007")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(webhooks), [_webhook("CN-A", T0), _webhook("CN-B", T0 + timedelta(days=2)),
                                                     _webhook("CN-A", T0 + timedelta(days=3))])
            await conn.execute(sa.delete(webhooks).where(webhooks.c.id == 3))
            await conn.execute(sa.insert(deliveries), [
                _delivery("own-sent", 1, "CN-A", T0 + timedelta(hours=1), "sent"),
                _delivery("own-pending", 2, "CN-B", T0 + timedelta(days=2, hours=1), "pending"),
                _delivery("other-institution", 2, "CN-A", T0 + timedelta(days=2, hours=2), "pending"),
                _delivery("deleted-webhook", 3, "CN-A", T0 + timedelta(days=3, hours=1), "held"),
                _delivery("older-than-its-webhook", 2, "CN-B", T0 + timedelta(days=1), "sent")])
            await conn.execute(sa.insert(notifications), [_notification("user:p", seq) for seq in (1, 2)])
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_the_migration_keeps_the_data_drops_stray_deliveries_and_never_reuses_an_id(
        kind: str, tmp_path: Path) -> None:
    async with database_on(kind, tmp_path, "bm_notify_0008") as url:
        await _used_before_0008(url)
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "head")
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                hooks = (await conn.execute(sa.select(webhooks.c.id, webhooks.c.institution)
                                            .order_by(webhooks.c.id))).all()
                kept = (await conn.scalars(sa.select(deliveries.c.dedup_key).order_by(deliveries.c.id))).all()
                seqs = (await conn.scalars(sa.select(notifications.c.seq).order_by(notifications.c.id))).all()
                new_hook = (await conn.execute(sa.insert(webhooks).values(**_webhook("CN-C", T0 + timedelta(days=5)))
                                               .returning(webhooks.c.id))).scalar_one()
                new_ids = []
                for attempt in (1, 2):  # the newest row deleted: its id is still never handed out again
                    delivery = (await conn.execute(sa.insert(deliveries).values(
                        **_delivery(f"new{attempt}", new_hook, "CN-C", T0 + timedelta(days=5), "pending"))
                        .returning(deliveries.c.id))).scalar_one()
                    note = (await conn.execute(sa.insert(notifications).values(**_notification("user:p", 3))
                                               .returning(notifications.c.id))).scalar_one()
                    await conn.execute(sa.delete(deliveries).where(deliveries.c.id == delivery))
                    await conn.execute(sa.delete(notifications).where(notifications.c.id == note))
                    new_ids.append((delivery, note))
        finally:
            await engine.dispose()
    assert [tuple(h) for h in hooks] == [(1, "CN-A"), (2, "CN-B")]
    expected = ["own-sent", "own-pending"] + (["older-than-its-webhook"] if kind == "postgresql" else [])
    assert kept == expected
    assert seqs == [1, 2]
    assert new_hook == 4  # not 3: that webhook was deleted before the migration, but its deliveries named it
    assert new_ids == [(6, 3), (7, 4)]
