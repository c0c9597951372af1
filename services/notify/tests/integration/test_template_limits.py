"""An institution's own template is refused at save when it breaks a limit, and at send time a message whose data
makes it break one gets the built-in wording instead of megabytes."""

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from notify_fixtures import new_request_id, notify

from bibliomesh_notify.adapters.tables import notifications, template_overrides
from meshkit.testing import eventually

URL = "/notify/institutions/CN-U1/templates/patron.shipped/in_app/en"


def own(title: str, body: str) -> dict[str, str]:
    return {"source": f"{{% block title %}}{title}{{% endblock %}}{{% block body %}}{body}{{% endblock %}}"}


async def test_a_template_that_breaks_a_limit_is_refused_naming_source_and_the_limit(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        admin = n.admin_headers("CN-U1")
        for template, limit in [
            (own('{{ "a" * 20000000 }}', "{{ title * 1000000 }}"), "65,536 characters"),  # what QA stored
            (own("x", "{% for i in range(30000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"),
             "1,000 numbers"),
            (own("x", "{% for i in range(9) %}{% for j in range(9) %}{% for k in range(9) %}{% endfor %}"
                      "{% endfor %}{% endfor %}"), "nest at most 2"),
            (own("x", "{% for i in range(1000) %}" + "{% if i %}{% endif %}" * 100 + "{% endfor %}"),
             "100,000 steps"),
        ]:
            refused = await n.client.put(URL, headers=admin, json=template)
            assert refused.status_code == 422, refused.text
            error = refused.json()["errors"][0]
            assert error["field"] == "source" and limit in error["message"], error
        assert (await n.client.get(URL, headers=admin)).json()["overridden"] is False


async def test_at_send_time_a_message_that_breaks_a_limit_gets_the_built_in_wording(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.person("user:ada", "CN-U1", email=None)
        admin = n.admin_headers("CN-U1")
        # within the limits with the sample title, 9,000 characters with this title
        stored = await n.client.put(URL, headers=admin, json=own("{{ title }}", "{{ title * 10 }}"))
        assert stored.status_code == 200, stored.text
        request_id = new_request_id()
        await n.step("shipped", request_id, borrower="CN-U1", lender="CN-PL", patron="user:ada", title="E" * 900)
        await n.step("shipped", new_request_id(), borrower="CN-U1", lender="CN-PL", patron="user:ada", title="Emma")

        async def both() -> bool:
            async with n.runtime.engine.connect() as conn:
                return await conn.scalar(sa.select(sa.func.count()).select_from(notifications)) == 2

        await eventually(both)
        async with n.runtime.engine.connect() as conn:
            long, short = sorted(await conn.execute(sa.select(notifications)), key=lambda r: len(r.title),
                                 reverse=True)
        assert long.title == f"“{'E' * 900}” is on its way" and long.body.startswith("CN-PL has sent “EEE")
        assert len(long.body) < 1_200
        assert (short.title, short.body) == ("Emma", "Emma" * 10)  # the institution's own wording where it fits


async def test_a_template_saved_before_a_limit_shows_what_keeps_it_from_being_used(tmp_path: Path) -> None:
    """Stored as an earlier version allowed (macros were refused later); an admin sees it is not used, and why."""
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        admin = n.admin_headers("CN-U1")
        async with n.runtime.engine.begin() as conn:
            await conn.execute(sa.insert(template_overrides).values(
                institution="CN-U1", message_kind="patron.shipped", channel="in_app", language="en",
                source="{% macro t() %}x{% endmacro %}" + own("{{ t() }}", "b")["source"],
                updated_at=datetime.now(UTC), updated_by="user:earlier"))
        fine = await n.client.put(URL.replace("/en", "/zh-CN"), headers=admin, json=own("{{ title }}", "b"))
        assert fine.status_code == 200 and fine.json()["problem"] is None, fine.text

        shown = (await n.client.get(URL, headers=admin)).json()
        assert shown["overridden"] is True and "macro" in shown["problem"], shown
        listed = {row["language"]: row["problem"] for row in
                  (await n.client.get("/notify/institutions/CN-U1/templates", headers=admin)).json()}
        assert listed["zh-CN"] is None and "macro" in listed["en"], listed
