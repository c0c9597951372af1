"""`bibliomesh auth announce-directory` publishes the whole directory again, each entity with a new version, so
the other services' copies (which keep only newer versions) take it: after a restore, or an upgrade that needs it."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bibliomesh_auth.cli import commands
from bibliomesh_auth.service_layer.directory import announce_directory
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine
from meshkit.problems import Forbidden
from meshkit.security import Principal

from .conftest import admin_headers
from .people import OTHER, UNI, make_user, register


async def published(settings: AuthSettings) -> list[tuple[str, str, int]]:
    engine = create_engine(settings.effective_database_url())
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT event_type, body FROM outbox ORDER BY id"))
            return [(r.event_type, json.loads(r.body)["aggregate_id"], json.loads(r.body)["aggregate_version"])
                    for r in rows]
    finally:
        await engine.dispose()


async def test_every_institution_and_person_is_announced_again_with_a_newer_version(
        client: httpx.AsyncClient, settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    patron = await make_user(client, admin, UNI["code"], "wang", ["patron"])
    before = await published(settings)
    latest = {aggregate: version for _, aggregate, version in before}
    env = {"DATA_DIR": str(settings.data_dir), "AUTH_DATABASE_URL": settings.effective_database_url()}

    result = await asyncio.to_thread(CliRunner().invoke, commands, ["announce-directory"], env=env)

    assert result.exit_code == 0, result.output
    again = (await published(settings))[len(before):]
    institutions = {a: v for t, a, v in again if t == "directory.institution.updated"}
    people = {a: v for t, a, v in again if t == "directory.person.changed"}
    assert institutions.keys() >= {UNI["code"], OTHER["code"]}
    assert f"user:{patron['id']}" in people
    for aggregate, version in {**institutions, **people}.items():
        assert version == latest.get(aggregate, 0) + 1, aggregate
    listed = (await client.get(f"/auth/institutions/{UNI['code']}", headers=admin)).json()
    assert listed["version"] == institutions[UNI["code"]]  # the directory's own record moved on with it

    only_institutions = await asyncio.to_thread(CliRunner().invoke, commands, ["announce-directory", "--no-people"],
                                                env=env)
    assert only_institutions.exit_code == 0 and "0 person(s)" in only_institutions.output


async def test_nobody_but_a_directory_admin_may_announce_it() -> None:
    institution_admin = Principal(subject="user:boss", institution=UNI["code"],
                                  roles=frozenset({"institution-admin"}), scopes=frozenset({"directory:admin"}))
    platform_admin_without_scope = Principal(subject="client:ops", institution="PLATFORM",
                                             roles=frozenset({"platform-admin"}), scopes=frozenset({"catalog:read"}))
    for caller in (institution_admin, platform_admin_without_scope):
        with pytest.raises(Forbidden, match="directory:admin"):
            await announce_directory(None, caller)  # type: ignore[arg-type]  # refused before any read
