"""E-mail to a real SMTP server on loopback: both parts, the recipient's language, and no message lost or doubled
when the server is down for a while."""

from pathlib import Path

import sqlalchemy as sa
from notify_fixtures import mail_server, new_request_id, notify

from bibliomesh_notify.adapters.tables import deliveries
from meshkit.testing import eventually


async def test_a_patron_gets_an_email_in_their_language_with_text_and_html(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu", language="zh", name_zh="大连大学图书馆")
        await n.person("user:li", "CN-U1", email="li@u1.example.edu", language="zh", name="李华")
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:li",
                     title="红楼梦 <卷一>")

        async def arrived() -> bool:
            return len(smtp.to("li@u1.example.edu")) == 1

        await eventually(arrived)
        message = smtp.to("li@u1.example.edu")[0]
        assert message["Subject"] == "我们已收到您对《红楼梦 <卷一>》的申请"
        assert message["Content-Language"] == "zh-CN" and message["Message-ID"].endswith("@notify.bibliomesh>")
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "李华，您好" in text and "《红楼梦 <卷一>》" in text  # noqa: RUF001 - Chinese punctuation
        assert "《红楼梦 &lt;卷一&gt;》" in html and '<html lang="zh-CN">' in html


async def test_a_dead_smtp_server_delays_mail_but_loses_none_and_sends_none_twice(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port,
                                             smtp_timeout_seconds=2) as n:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu")
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        smtp.stop()
        requests = [new_request_id() for _ in range(4)]
        for request_id in requests:
            await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:ada")

        async def retried() -> bool:  # every e-mail failed at least twice and waits for its next try
            async with n.runtime.engine.connect() as conn:
                rows = (await conn.execute(sa.select(deliveries.c.status, deliveries.c.attempts))).all()
            return len(rows) == 4 and all(r.status in ("pending", "sending") and r.attempts >= 2 for r in rows)

        await eventually(retried)
        assert smtp.messages == []
        smtp.start()
        await n.settled()
        received = smtp.to("ada@u1.example.edu")
        assert len(received) == 4
        assert len({m["Message-ID"] for m in received}) == 4
        assert {m.get_body(("plain",)).get_content().count(r) for m in received for r in requests} == {0, 1}


async def test_without_smtp_the_mail_is_written_as_eml_files(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu")
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu", name="Ada")
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada")
        await n.settled()
        files = list((tmp_path / "outbox-mail").glob("*.eml"))
        assert len(files) == 1
        content = files[0].read_text()
        assert "To: ada@u1.example.edu" in content and "Dear Ada," in content


async def test_a_burst_to_one_address_is_rate_limited_not_dropped(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port,
                                             email_per_minute=3) as n:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu")
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        await n.person("user:bo", "CN-U1", email="bo@u1.example.edu")
        for _ in range(5):
            await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada")
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:bo")

        async def first_three() -> bool:
            return len(smtp.to("ada@u1.example.edu")) == 3 and len(smtp.to("bo@u1.example.edu")) == 1

        await eventually(first_three)

        async def two_waiting() -> bool:  # not dropped: they wait for the minute to pass
            async with n.runtime.engine.connect() as conn:
                waiting = (await conn.execute(sa.select(deliveries.c.next_attempt_at).where(
                    deliveries.c.address == "ada@u1.example.edu", deliveries.c.status == "pending"))).all()
            return len(waiting) == 2

        await eventually(two_waiting)
        assert len(smtp.to("ada@u1.example.edu")) == 3
