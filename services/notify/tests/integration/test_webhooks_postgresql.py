"""Webhook ids on PostgreSQL take the whole range a URL accepts (up to 2^63-1), not only 32-bit integers."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from notify_fixtures import WebhookReceiver, new_request_id, notify

from meshkit.testing import eventually
from tests.support.infra import postgres_database
from tests.support.serving import serving

pytestmark = pytest.mark.integration
BEYOND_INT32 = 2**31


async def test_webhook_ids_beyond_32_bits_are_found_or_not_found_never_an_error(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    async with postgres_database("bm_notify_hooks") as url, serving(receiver.app()) as base, \
            notify(tmp_path, database_url=url) as n:
        await n.institution("CN-PL", ill_email=None)
        admin = n.admin_headers("CN-PL")
        missing = await n.client.get(f"/notify/webhooks/{BEYOND_INT32}", headers=admin)
        assert missing.status_code == 404, missing.text
        assert missing.headers["content-type"] == "application/problem+json"

        async with n.runtime.engine.begin() as conn:  # as if 2^31 webhooks had been registered before
            await conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('webhooks', 'id'), :last)"),
                               {"last": BEYOND_INT32})
        created = await n.client.post("/notify/webhooks", headers=admin, json={
            "url": f"{base}/hooks/pl", "event_types": ["ill.request.routed"]})
        assert created.status_code == 201, created.text
        hook = created.json()["id"]
        assert hook > BEYOND_INT32
        assert (await n.client.get(f"/notify/webhooks/{hook}", headers=admin)).json()["enabled"] is True

        await n.step("routed", new_request_id(), borrower="CN-U1", lender="CN-PL", patron=None)

        async def arrived() -> bool:
            return len(receiver.at("pl")) == 1

        await eventually(arrived)
        await n.settled()
        log = (await n.client.get(f"/notify/webhooks/{hook}/deliveries", headers=admin)).json()
        assert [d["status"] for d in log] == ["sent"]
