"""Preferences: channels per message kind, a mailbox's daily digest on an injected clock, institution wording."""

from datetime import UTC, datetime
from pathlib import Path

from notify_fixtures import mail_server, new_request_id, notify

from bibliomesh_notify.service_layer.digests import send_digests
from meshkit.testing import eventually


async def test_a_patron_chooses_channels_per_kind_and_unknown_kinds_are_named(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        ada = n.person_headers("user:ada", "CN-U1")
        assert (await n.client.get("/notify/preferences", headers=ada)).json()["channels"]["patron.shipped"] == [
            "email", "in_app"]
        bad = await n.client.put("/notify/preferences", headers=ada, json={"channels": {"patron.teleported": []}})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "channels.patron.teleported"
        put = await n.client.put("/notify/preferences", headers=ada, json={
            "channels": {"patron.submitted": ["in_app"], "patron.routed": []}})
        assert put.json()["channels"]["patron.submitted"] == ["in_app"]
        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:ada")
        await n.step("routed", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=2)
        await n.step("shipped", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", version=3)

        async def shipped_mail() -> bool:
            return len(smtp.messages) == 1

        await eventually(shipped_mail)
        notes = (await n.client.get("/notify/notifications", headers=ada)).json()["items"]
        assert [i["message_kind"] for i in notes] == ["patron.shipped", "patron.submitted"]
        assert "is on its way" in smtp.messages[0]["Subject"]


async def test_a_library_mailbox_gets_a_daily_digest_at_the_configured_hour(tmp_path: Path) -> None:
    now = [datetime(2030, 1, 31, 20, 0, tzinfo=UTC)]  # 04:00 on 1 February in Shanghai
    async with mail_server() as smtp, notify(tmp_path, lambda: now[0], smtp_host="127.0.0.1", smtp_port=smtp.port,
                                             digest_hour=7, digest_timezone="Asia/Shanghai") as n:
        await n.institution("CN-PL", ill_email="ill@pl.example.org", language="zh", name_zh="大连市图书馆")
        admin = n.admin_headers("CN-PL")
        assert (await n.client.put("/notify/mailboxes/CN-PL/preferences", headers=n.admin_headers("CN-U1"),
                                   json={"digest": True})).status_code == 403
        assert (await n.client.put("/notify/mailboxes/CN-PL/preferences", headers=admin,
                                   json={"digest": True})).json()["digest"] is True
        for title in ("三国演义", "水浒传"):
            await n.step("routed", new_request_id(), borrower="CN-U1", lender="CN-PL", patron=None, title=title)

        async def waiting() -> bool:
            return (await n.counts())[0] == 2

        await eventually(waiting)
        now[0] = datetime(2030, 1, 31, 22, 30, tzinfo=UTC)  # 06:30 in Shanghai: not yet
        assert await send_digests(n.runtime, n.app.state.notify) == 0
        now[0] = datetime(2030, 1, 31, 23, 5, tzinfo=UTC)  # 07:05 in Shanghai, 1 February
        assert await send_digests(n.runtime, n.app.state.notify) == 1
        assert await send_digests(n.runtime, n.app.state.notify) == 0  # once a day

        async def digest() -> bool:
            return len(smtp.messages) == 1

        await eventually(digest)
        text = smtp.messages[0].get_body(("plain",)).get_content()
        assert "2030-02-01" in smtp.messages[0]["Subject"] and "三国演义" in text and "水浒传" in text


async def test_an_institution_rewords_a_message_and_a_broken_template_is_refused(tmp_path: Path) -> None:
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email="ada@u1.example.edu")
        admin = n.admin_headers("CN-U1")
        url = "/notify/institutions/CN-U1/templates/patron.submitted/email/en"
        default = (await n.client.get(url, headers=admin)).json()
        assert default["overridden"] is False and "{% block subject %}" in default["source"]
        broken = await n.client.put(url, headers=admin, json={"source": "{% block subject %}{{ nope }}{% endblock %}"
                                                                         "{% block text %}x{% endblock %}"
                                                                         "{% block html %}x{% endblock %}"})
        assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "source"
        own = ("{% block subject %}U1 got your request: {{ title }}{% endblock %}"
               "{% block text %}Thanks, {{ recipient_name }}.{% endblock %}{% block html %}<b>Thanks</b>{% endblock %}")
        assert (await n.client.put(url, headers=admin, json={"source": own})).status_code == 200
        assert (await n.client.put(url, headers=n.admin_headers("CN-PL"), json={"source": own})).status_code == 403
        await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:ada", title="Emma")

        async def arrived() -> bool:
            return len(smtp.messages) == 1

        await eventually(arrived)
        assert smtp.messages[0]["Subject"] == "U1 got your request: Emma"
