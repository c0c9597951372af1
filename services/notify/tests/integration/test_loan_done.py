"""Done means: a loan from submitted to completed tells the patron and both libraries exactly what they should
hear, in their languages, by e-mail (a real SMTP server), webhook (signatures verified) and the live stream."""

import asyncio
from collections import Counter
from datetime import date
from pathlib import Path

import httpx
from notify_fixtures import WebhookReceiver, mail_server, new_request_id, notify, read_events
from standardwebhooks.webhooks import Webhook

from meshkit.testing import eventually
from tests.support.serving import serving

LOAN = ["submitted", "routed", "expected", "will_supply", "shipped", "received", "checked_out", "due_soon",
        "returned", "completed"]


async def test_a_loan_from_submitted_to_completed(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    async with mail_server() as smtp, serving(receiver.app()) as hooks, \
            notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n, serving(n.app) as base, \
            httpx.AsyncClient(base_url=base, timeout=15) as http:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu", language="zh", name_zh="大连大学图书馆")
        await n.institution("CN-PL", ill_email="ill@pl.example.org", language="en")
        await n.person("user:li", "CN-U1", email="li@u1.example.edu", language="zh", name="李华")
        await n.person("user:u1-staff", "CN-U1", email="wang@u1.example.edu", language="zh", roles=("staff",))
        await n.person("user:pl-staff", "CN-PL", email="sam@pl.example.org", roles=("staff",))
        secrets = {}
        for code, types in (("CN-U1", ["ill.request.*"]),
                            ("CN-PL", ["ill.request.routed", "ill.request.returned", "ill.request.completed"])):
            created = await n.client.post("/notify/webhooks", headers=n.admin_headers(code), json={
                "url": f"{hooks}/hooks/{code}", "event_types": types})
            secrets[code] = created.json()["secret"]

        request_id = new_request_id()
        patron = n.person_headers("user:li", "CN-U1")
        async with http.stream("GET", "/notify/stream", headers=patron) as live:
            reading = asyncio.create_task(read_events(live, 5))
            for version, step in enumerate(LOAN, 1):
                await n.step(step, request_id, borrower="CN-U1", lender=None if step == "submitted" else "CN-PL",
                             patron="user:li", version=version, title="红楼梦",
                             due=date(2030, 3, 14) if version >= 5 else None)
            streamed = await asyncio.wait_for(reading, 20)

        async def all_sent() -> bool:
            return len(smtp.messages) >= 8 and len(receiver.received) >= 13

        await eventually(all_sent)
        await n.settled()
        await asyncio.sleep(0.3)  # nothing more may arrive

        to_patron = smtp.to("li@u1.example.edu")
        assert [m["Subject"] for m in to_patron] == [
            "我们已收到您对《红楼梦》的申请", "我们正在向合作图书馆征询《红楼梦》", "《红楼梦》已寄出",
            "《红楼梦》可以取书了", "《红楼梦》将于2030-03-14到期"]
        assert all(m["Content-Language"] == "zh-CN" for m in to_patron)
        assert "李华，您好" in to_patron[2].get_body(("plain",)).get_content()  # noqa: RUF001
        assert "CN-PL Library" in to_patron[2].get_body(("html",)).get_content()
        assert [m["Subject"] for m in smtp.to("ill@pl.example.org")] == [  # the lender's staff read English
            "New ILL request from CN-U1 Library: “红楼梦”", "“红楼梦” is on its way back from CN-U1 Library"]
        assert [m["Subject"] for m in smtp.to("ill@u1.example.edu")] == ["CN-PL Library已寄出《红楼梦》"]
        assert len(smtp.messages) == 8  # and nobody else: staff are reached through their library's mailbox

        assert [e["message_kind"] for _, e in streamed] == [
            "patron.submitted", "patron.routed", "patron.shipped", "patron.ready_for_pickup", "patron.due_soon"]
        assert [i for i, _ in streamed] == [1, 2, 3, 4, 5]
        staff = {code: [i["message_kind"] for i in (await n.client.get(
            "/notify/notifications", headers=n.person_headers(subject, code, ("staff",)))).json()["items"]]
            for code, subject in (("CN-U1", "user:u1-staff"), ("CN-PL", "user:pl-staff"))}
        assert staff == {"CN-U1": ["borrower.item_shipped"],
                         "CN-PL": ["lender.item_returned", "lender.new_request"]}

        verified = {code: [Webhook(secrets[code]).verify(r.body, r.headers) for r in receiver.at(code)]
                    for code in secrets}
        # Posted concurrently, so not necessarily in order: each payload carries when its step happened.
        assert sorted(p["type"] for p in verified["CN-U1"]) == sorted(f"ill.request.{s}" for s in LOAN)
        assert all(p["data"]["patron_id"] == "user:li" for p in verified["CN-U1"])
        assert sorted(p["type"] for p in verified["CN-PL"]) == [
            "ill.request.completed", "ill.request.returned", "ill.request.routed"]
        assert all(p["data"]["patron_id"] is None for p in verified["CN-PL"])
        assert Counter(r.headers["webhook-id"] for r in receiver.received).most_common(1)[0][1] == 1
