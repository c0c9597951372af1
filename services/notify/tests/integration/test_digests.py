"""Daily digests on an injected clock, delivered to a real SMTP server on loopback."""

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from notify_fixtures import mail_server, new_request_id, notify

from bibliomesh_notify.adapters.tables import deliveries, digest_runs
from bibliomesh_notify.service_layer.digests import send_digests


async def test_a_person_whose_address_changed_during_the_day_gets_every_message_at_the_new_one(
        tmp_path: Path) -> None:
    now = [datetime(2030, 2, 1, 5, 0, tzinfo=UTC)]
    async with mail_server() as smtp, notify(tmp_path, lambda: now[0], smtp_host="127.0.0.1", smtp_port=smtp.port,
                                             digest_hour=7) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email="ada@old.example.edu")
        ada = n.person_headers("user:ada", "CN-U1")
        assert (await n.client.put("/notify/preferences", headers=ada, json={"digest": True})).status_code == 200
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada", title="Emma")
        await n.settled(at_least=1)  # queued for the old address
        await n.person("user:ada", "CN-U1", email="ada@new.example.edu")
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada",
                     title="Persuasion")
        await n.settled(at_least=2)
        now[0] = datetime(2030, 2, 1, 7, 5, tzinfo=UTC)
        assert await send_digests(n.runtime, n.app.state.notify) == 1
        await n.settled(at_least=3)
        assert smtp.to("ada@old.example.edu") == []
        [digest] = smtp.to("ada@new.example.edu")
        text = digest.get_body(("plain",)).get_content()
        assert "Emma" in text and "Persuasion" in text
        async with n.runtime.engine.connect() as conn:
            statuses = (await conn.execute(sa.select(deliveries.c.status).order_by(deliveries.c.id))).scalars()
            assert list(statuses) == ["digested", "digested", "sent"]


async def test_a_day_run_again_leaves_what_its_digest_cannot_hold_for_the_next_day(tmp_path: Path) -> None:
    now = [datetime(2030, 2, 1, 6, 0, tzinfo=UTC)]
    async with mail_server() as smtp, notify(tmp_path, lambda: now[0], smtp_host="127.0.0.1", smtp_port=smtp.port,
                                             digest_hour=7) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        ada = n.person_headers("user:ada", "CN-U1")
        assert (await n.client.put("/notify/preferences", headers=ada, json={"digest": True})).status_code == 200
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada", title="Emma")
        await n.settled(at_least=1)
        now[0] = datetime(2030, 2, 1, 7, 5, tzinfo=UTC)
        assert await send_digests(n.runtime, n.app.state.notify) == 1
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada",
                     title="Persuasion")
        await n.settled(at_least=3)
        async with n.runtime.engine.begin() as conn:  # an operator runs the day again
            await conn.execute(sa.delete(digest_runs))
        assert await send_digests(n.runtime, n.app.state.notify) == 0  # today's digest went out already

        now[0] = datetime(2030, 2, 2, 7, 5, tzinfo=UTC)
        assert await send_digests(n.runtime, n.app.state.notify) == 1
        await n.settled(at_least=4)
        texts = [m.get_body(("plain",)).get_content() for m in smtp.to("ada@u1.example.edu")]
        assert len(texts) == 2 and "Emma" in texts[0] and "Persuasion" in texts[1]
