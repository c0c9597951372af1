"""Settings are stored only for institutions the directory announced: a code that is not one (malformed: 422;
well-formed but unknown to notify's copy of the directory: 409 naming it, with `Retry-After`, as the catalogue
answers) stores nothing, even for a platform admin."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from notify_fixtures import notify

from bibliomesh_notify.adapters.tables import preferences, template_overrides, webhooks

KNOWN = "CN-DL-BNU"
IN_APP = "{% block title %}Request {{ request_id }}{% endblock %}{% block body %}Submitted.{% endblock %}"


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: Callable[[str], str]
    body: Callable[[str], dict[str, Any]]
    stored: sa.Table
    ok: int = 200
    in_body: bool = False

    def __str__(self) -> str:
        return self.name


ROUTES = [
    Route("mailbox-preferences", "PUT", lambda code: f"/notify/mailboxes/{code}/preferences",
          lambda _code: {"digest": True}, preferences),
    Route("template", "PUT", lambda code: f"/notify/institutions/{code}/templates/patron.submitted/in_app/en",
          lambda _code: {"source": IN_APP}, template_overrides),
    Route("webhook", "POST", lambda _code: "/notify/webhooks",
          lambda code: {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "institution": code}, webhooks,
          ok=201, in_body=True),
]
# As a path segment (already percent-encoded) and as a JSON string.
NOT_CODES = [("NOPE", "NOPE"), (f"{KNOWN}%20", f"{KNOWN} "), ("Z" * 5000, "Z" * 100_000), ("%FF", "\u00ff"),
             ("cn-dl-bnu", "cn-dl-bnu"), (f"{KNOWN}%0A", f"{KNOWN}\n")]


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_settings_for_an_institution_notify_does_not_know_are_refused_and_not_stored(
        route: Route, tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        await n.institution(KNOWN, ill_email=None)
        platform = n.tokens.headers("PLATFORM", scopes=["notify:manage"], roles=["platform-admin"])

        async def call(code: str) -> Any:
            return await n.client.request(route.method, route.url(code), headers=platform, json=route.body(code))

        for in_path, in_body in NOT_CODES:
            refused = await call(in_body if route.in_body else in_path)
            assert refused.status_code == 422, (in_path[:20], refused.text[:300])
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["errors"][0]["field"] == ("institution" if route.in_body else "path.code")
        unknown = await call("CN-NOPE")
        assert unknown.status_code == 409, unknown.text
        assert unknown.headers["content-type"] == "application/problem+json" and unknown.headers["retry-after"]
        assert "CN-NOPE" in unknown.json()["detail"] and unknown.json()["errors"][0]["field"] == "institution"
        async with n.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(route.stored)) == 0

        known = await call(KNOWN)
        assert known.status_code == route.ok, known.text
        async with n.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(route.stored)) == 1


async def test_an_admin_of_an_institution_notify_does_not_know_registers_no_webhook(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        refused = await n.client.post("/notify/webhooks", headers=n.admin_headers("CN-NOPE"), json={
            "url": "http://127.0.0.1:9/hook", "event_types": ["*"]})
        assert refused.status_code == 409 and "CN-NOPE" in refused.json()["detail"], refused.text
        async with n.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(webhooks)) == 0
        await n.institution("CN-NOPE", ill_email=None)
        created = await n.client.post("/notify/webhooks", headers=n.admin_headers("CN-NOPE"), json={
            "url": "http://127.0.0.1:9/hook", "event_types": ["*"]})
        assert created.status_code == 201, created.text
