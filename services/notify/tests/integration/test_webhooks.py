"""Webhooks to a real receiver over HTTP: signed the Standard Webhooks way (checked with the `standardwebhooks`
library, as a partner would), retried, logged, redelivered, disabled after failing in a row."""

import json
from pathlib import Path

import sqlalchemy as sa
from notify_fixtures import WebhookReceiver, new_request_id, notify
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bibliomesh_notify.adapters.tables import webhooks
from meshkit.testing import eventually
from tests.support.serving import serving


async def test_registered_webhook_gets_signed_events_that_verify_and_only_its_own_data(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    async with serving(receiver.app()) as base, notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.institution("CN-PL", ill_email=None)
        created = await n.client.post("/notify/webhooks", headers=n.admin_headers("CN-PL"), json={
            "url": f"{base}/hooks/pl", "event_types": ["ill.request.routed"], "description": "our ILS"})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert secret.startswith("whsec_")
        listed = await n.client.get("/notify/webhooks", headers=n.admin_headers("CN-PL"))
        assert [h["url"] for h in listed.json()] == [f"{base}/hooks/pl"] and "secret" not in listed.json()[0]
        async with n.runtime.engine.connect() as conn:
            stored = await conn.scalar(sa.select(webhooks.c.secret))
        assert secret not in stored and stored.startswith("fernet:")

        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:p")
        await n.step("routed", request_id, borrower="CN-U1", lender="CN-PL", patron="user:p", version=2)

        async def arrived() -> bool:
            return len(receiver.at("pl")) == 1

        await eventually(arrived)
        await n.settled()  # the outcome is recorded just after the receiver answered
        message = receiver.at("pl")[0]
        payload = Webhook(secret).verify(message.body, message.headers)
        assert payload["type"] == "ill.request.routed" and payload["data"]["request_id"] == request_id
        assert payload["data"]["patron_id"] is None  # the lender does not learn who the patron is
        assert payload["data"]["actor"] == "system"
        try:
            Webhook(secret).verify(message.body.replace("CN-PL", "CN-XX"), message.headers)
            raise AssertionError("a changed body must not verify")
        except WebhookVerificationError:
            pass

        log = await n.client.get(f"/notify/webhooks/{created.json()['id']}/deliveries",
                                 headers=n.admin_headers("CN-PL"))
        assert [(d["status"], d["event_type"], d["webhook_id"]) for d in log.json()] == [
            ("sent", "ill.request.routed", message.headers["webhook-id"])]
        beyond = await n.client.get(f"/notify/webhooks/{created.json()['id']}/deliveries",
                                    headers=n.admin_headers("CN-PL"), params={"before": 2**63})
        assert beyond.status_code == 422 and beyond.json()["errors"][0]["field"] == "query.before"


async def test_a_failing_endpoint_is_retried_disabled_and_its_admins_told_while_others_go_on(tmp_path: Path) -> None:
    failing, working = WebhookReceiver(status=503), WebhookReceiver()
    async with serving(failing.app()) as bad, serving(working.app()) as good, \
            notify(tmp_path, webhook_disable_after=3) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:admin-u1", "CN-U1", email="admin@u1.example.edu", roles=("institution-admin",))
        admin = n.admin_headers("CN-U1")
        broken = (await n.client.post("/notify/webhooks", headers=admin, json={
            "url": f"{bad}/hooks/u1", "event_types": ["ill.request.*"]})).json()
        fine = (await n.client.post("/notify/webhooks", headers=admin, json={
            "url": f"{good}/hooks/u1", "event_types": ["ill.request.submitted"]})).json()
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron=None)

        async def disabled() -> bool:
            found = (await n.client.get(f"/notify/webhooks/{broken['id']}", headers=admin)).json()
            return found["enabled"] is False

        await eventually(disabled)
        assert len(failing.received) == 3 and len(working.received) == 1
        assert len({r.headers["webhook-id"] for r in failing.received}) == 1  # one message, retried
        notes = (await n.client.get("/notify/notifications",
                                    headers=n.person_headers("user:admin-u1", "CN-U1"))).json()
        assert [i["message_kind"] for i in notes["items"]] == ["admin.webhook_disabled"]
        log = (await n.client.get(f"/notify/webhooks/{broken['id']}/deliveries", headers=admin)).json()
        assert log[0]["status"] == "held" and log[0]["last_status_code"] == 503

        failing.status = 200
        enabled = await n.client.patch(f"/notify/webhooks/{broken['id']}", headers=admin, json={"enabled": True})
        assert enabled.json()["enabled"] is True

        async def held_one_sent() -> bool:
            return len(failing.received) == 4

        await eventually(held_one_sent)
        redo = await n.client.post(f"/notify/webhooks/{fine['id']}/deliveries/{log[0]['id']}/redeliver",
                                   headers=admin)
        assert redo.status_code == 404  # a delivery of another webhook
        first = (await n.client.get(f"/notify/webhooks/{fine['id']}/deliveries", headers=admin)).json()[0]
        redo = await n.client.post(f"/notify/webhooks/{fine['id']}/deliveries/{first['id']}/redeliver",
                                   headers=admin)
        assert redo.status_code == 202

        async def again() -> bool:
            return len(working.received) == 2

        await eventually(again)
        assert working.received[0].headers["webhook-id"] == working.received[1].headers["webhook-id"]


async def test_webhooks_belong_to_their_institution_and_urls_are_checked(tmp_path: Path) -> None:
    async with notify(tmp_path, webhook_allow_private=False) as n:
        await n.institution("CN-U1", ill_email=None)
        admin = n.admin_headers("CN-U1")
        for url, field in (("http://partner.example.org/hook", "url"), ("https://127.0.0.1/hook", "url"),
                           ("https://localhost/hook", "url")):
            refused = await n.client.post("/notify/webhooks", headers=admin, json={
                "url": url, "event_types": ["ill.request.shipped"]})
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
        refused = await n.client.post("/notify/webhooks", headers=admin, json={
            "url": "https://93.184.215.14/hook", "event_types": ["ill.request.teleported"]})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "event_types.0"
        created = await n.client.post("/notify/webhooks", headers=admin, json={
            "url": "https://93.184.215.14/hook", "event_types": ["ill.request.shipped"]})
        assert created.status_code == 201, created.text
        hook = created.json()["id"]
        other = n.admin_headers("CN-PL")
        assert (await n.client.get(f"/notify/webhooks/{hook}", headers=other)).status_code == 403
        assert (await n.client.delete(f"/notify/webhooks/{hook}", headers=other)).status_code == 403
        assert (await n.client.get("/notify/webhooks", headers=other)).json() == []
        staff = n.tokens.headers("CN-U1", scopes=["ill:lend"], roles=["staff"])
        assert (await n.client.get("/notify/webhooks", headers=staff)).status_code == 403
        platform = n.tokens.headers("PLATFORM", scopes=["notify:manage"], roles=["platform-admin"])
        assert [h["id"] for h in (await n.client.get("/notify/webhooks", headers=platform)).json()] == [hook]
        assert (await n.client.delete(f"/notify/webhooks/{hook}", headers=admin)).status_code == 204
        assert json.loads((await n.client.get("/notify/webhooks", headers=admin)).text) == []


async def test_a_lender_is_not_told_the_patron_as_the_actor_of_what_the_patron_did(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    async with serving(receiver.app()) as base, notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.institution("CN-PL", ill_email=None)
        hooks = {}
        for code, path in (("CN-PL", "pl"), ("CN-U1", "u1")):
            created = await n.client.post("/notify/webhooks", headers=n.admin_headers(code), json={
                "url": f"{base}/hooks/{path}", "event_types": ["ill.request.cancelled"]})
            hooks[path] = created.json()["secret"]
        request_id = new_request_id()
        await n.step("cancelled", request_id, borrower="CN-U1", lender="CN-PL", patron="user:p", actor="user:p")

        async def arrived() -> bool:
            return len(receiver.at("pl")) == 1 and len(receiver.at("u1")) == 1

        await eventually(arrived)
        lender = Webhook(hooks["pl"]).verify(receiver.at("pl")[0].body, receiver.at("pl")[0].headers)
        borrower = Webhook(hooks["u1"]).verify(receiver.at("u1")[0].body, receiver.at("u1")[0].headers)
        assert (lender["data"]["patron_id"], lender["data"]["actor"]) == (None, "patron")
        assert (borrower["data"]["patron_id"], borrower["data"]["actor"]) == ("user:p", "user:p")
