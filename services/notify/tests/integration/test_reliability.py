"""Never twice: a repeated event, two replicas on one database, a sender that died after sending."""

from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from notify_fixtures import Notify, WebhookReceiver, mail_server, new_request_id, notify, notify_app
from standardwebhooks.webhooks import Webhook

from bibliomesh_contracts import new_envelope
from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_notify.adapters.tables import deliveries
from meshkit.bus import OutgoingMessage
from meshkit.testing import TokenFactory, eventually, running, trust
from tests.support.infra import VirtualHost, amqp_vhost, postgres_url  # noqa: F401 - fixtures
from tests.support.serving import serving


async def test_the_same_event_delivered_twice_makes_one_message(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        envelope = new_envelope(STEP_EVENTS["submitted"](
            request_id="r-1", step="submitted", borrower="CN-U1", patron_id="user:ada", service_type="loan",
            title="Emma", requester_state="submitted", actor="user:ada", occurred_at=datetime.now(UTC)),
            producer="ill", aggregate_id="ill-request:r-1", aggregate_version=1)
        message = OutgoingMessage(message_id=str(envelope.id), routing_key=envelope.type,
                                  body=envelope.model_dump_json().encode())
        await n.runtime.bus.publish([message])
        await n.runtime.bus.publish([message])
        await n.step("shipped", "r-1", borrower="CN-U1", lender="CN-PL", patron="user:ada", version=2)

        async def both_handled() -> bool:
            return len(smtp.messages) >= 2

        await eventually(both_handled)
        await n.settled()
        assert sorted(m["Subject"] for m in smtp.messages) == ["We received your request for “Emma”",
                                                                "“Dream of the Red Chamber” is on its way"]
        notes = (await n.client.get("/notify/notifications", headers=n.person_headers("user:ada", "CN-U1"))).json()
        assert len(notes["items"]) == 2


async def test_a_delivery_whose_sender_died_after_sending_goes_again_with_the_same_message_id(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada")
        await n.settled()
        # As if a replica had sent it and died before recording: claimed, lease run out.
        async with n.runtime.engine.begin() as conn:
            await conn.execute(sa.update(deliveries).values(
                status="sending", lease_owner="dead-replica", lease_until=datetime.now(UTC) - timedelta(seconds=1)))
        n.app.state.notify.signals.deliveries.fire()

        async def resent() -> bool:
            return len(smtp.messages) == 2

        await eventually(resent)
        assert smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]  # recognisable as the same


@pytest.mark.integration
async def test_two_replicas_on_one_database_send_each_message_once(tmp_path: Path, postgres_url: str,  # noqa: F811
                                                                     amqp_vhost: VirtualHost) -> None:  # noqa: F811
    receiver = WebhookReceiver()
    tokens = TokenFactory()
    settings = {"database_url": postgres_url, "bus_url": amqp_vhost.url(), "delivery_batch": 3,
                "secrets_key": Fernet.generate_key().decode()}  # replicas share the key, as in production
    async with mail_server() as smtp, serving(receiver.app()) as hooks, AsyncExitStack() as stack:
        replicas = []
        for name in ("a", "b"):
            app = notify_app(tmp_path / name, **settings, smtp_host="127.0.0.1", smtp_port=smtp.port)
            trust(app, tokens)
            replicas.append(Notify(app, await stack.enter_async_context(running(app)), tokens))
        first = replicas[0]
        await first.institution("CN-U1", ill_email="ill@u1.example.edu")
        created = await first.client.post("/notify/webhooks", headers=first.admin_headers("CN-U1"), json={
            "url": f"{hooks}/hooks/u1", "event_types": ["ill.request.submitted"]})
        patrons = [f"user:p{i}" for i in range(6)]
        for patron in patrons:
            await first.person(patron, "CN-U1", email=f"{patron[5:]}@u1.example.edu")
        for patron in patrons:
            for _ in range(2):
                await first.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron=patron)

        async def all_sent() -> bool:
            return len(smtp.messages) >= 12 and len(receiver.received) >= 12

        await eventually(all_sent, within=30)
        await first.settled(at_least=24)
        async with first.runtime.engine.connect() as conn:
            senders = set(await conn.scalars(sa.select(deliveries.c.status)))
        assert senders == {"sent"}
        assert len(smtp.messages) == 12 and len({m["Message-ID"] for m in smtp.messages}) == 12
        assert len(receiver.received) == 12 and len({r.headers["webhook-id"] for r in receiver.received}) == 12
        secret = created.json()["secret"]
        assert all(Webhook(secret).verify(r.body, r.headers) for r in receiver.received)
        # the stream of either replica sees what the other wrote
        listed = await replicas[1].client.get("/notify/notifications",
                                               headers=first.person_headers("user:p0", "CN-U1"))
        assert [i["seq"] for i in listed.json()["items"]] == [2, 1]
