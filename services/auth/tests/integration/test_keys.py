"""Signing-key rotation as the operator runs it: tokens in flight keep verifying, new tokens switch once the new
key is active, the old key stays published for one token lifetime, and a purged key's tokens are refused."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from joserfc import jws
from joserfc.jwk import KeySet
from typer.testing import CliRunner

from bibliomesh_auth.adapters.tables import signing_keys
from bibliomesh_auth.cli import commands
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine
from meshkit.problems import Unauthorized
from meshkit.security import TokenVerifier
from meshkit.testing import eventually

from .conftest import ADMIN


async def cli(settings: AuthSettings, *args: str) -> str:
    env = {"DATA_DIR": str(settings.data_dir), "AUTH_DATABASE_URL": settings.effective_database_url()}
    result = await asyncio.to_thread(CliRunner().invoke, commands, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


async def issue(client: httpx.AsyncClient) -> str:
    response = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)
    assert response.status_code == 200
    token: str = response.json()["access_token"]
    return token


def kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


async def published(client: httpx.AsyncClient) -> set[str]:
    return {key["kid"] for key in (await client.get("/auth/jwks")).json()["keys"]}


def verifier_of(client: httpx.AsyncClient, settings: AuthSettings) -> TokenVerifier:
    """What another service runs: verification against the published JWKS, refetched on an unknown key id."""

    async def keys(_refresh: bool) -> KeySet:
        return KeySet.import_key_set((await client.get("/auth/jwks")).json())

    return TokenVerifier(keys, issuer=settings.token_issuer, audience=settings.token_audience)


async def backdate_retirement(settings: AuthSettings, kids: list[str], by: timedelta) -> None:
    engine = create_engine(settings.effective_database_url())
    async with engine.begin() as conn:
        await conn.execute(sa.update(signing_keys).where(signing_keys.c.kid.in_(kids))
                           .values(retired_at=datetime.now(UTC) - by))
    await engine.dispose()


async def keys_listed(settings: AuthSettings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (await cli(settings, "list-keys", "--json")).splitlines()]


async def test_tokens_in_flight_survive_rotation_and_new_ones_switch_when_the_key_activates(
        client: httpx.AsyncClient, settings: AuthSettings) -> None:
    before = await issue(client)
    old_kid = kid(before)
    output = await cli(settings, "rotate-keys", "--publish-ahead", "2")
    new_kid = output.split()[2]
    assert await published(client) == {old_kid, new_kid}  # published at once, before it signs
    assert kid(await issue(client)) == old_kid  # not signing yet: verifiers may not have it

    verifier = verifier_of(client, settings)
    assert (await verifier.verify(before)).subject == f"client:{ADMIN[0]}"

    async def switched() -> bool:
        return kid(await issue(client)) == new_kid

    await eventually(switched, within=10)
    assert (await verifier.verify(before)).institution == "PLATFORM"  # in flight: still valid
    assert (await client.get("/auth/users", headers={"Authorization": f"Bearer {before}"})).status_code == 200
    assert [k["state"] for k in await keys_listed(settings)] == ["signing", "retired"]


async def test_the_default_publishes_two_minutes_ahead(client: httpx.AsyncClient, settings: AuthSettings) -> None:
    await issue(client)
    await cli(settings, "rotate-keys")
    pending = (await keys_listed(settings))[0]
    assert pending["state"] == "pending"
    ahead = datetime.fromisoformat(pending["activates_at"]) - datetime.now(UTC)
    assert timedelta(seconds=110) < ahead <= timedelta(seconds=120)


async def test_the_old_key_leaves_the_jwks_only_after_one_token_lifetime(client: httpx.AsyncClient,
                                                                         settings: AuthSettings) -> None:
    old_kid = kid(await issue(client))
    await cli(settings, "rotate-keys", "--publish-ahead", "0")
    lifetime = timedelta(seconds=settings.access_token_ttl_seconds + 300)  # token lifetime plus clock leeway
    await backdate_retirement(settings, [old_kid], lifetime - timedelta(seconds=30))
    assert old_kid in await published(client)
    await backdate_retirement(settings, [old_kid], lifetime + timedelta(seconds=30))
    assert old_kid not in await published(client)


async def test_a_token_signed_by_a_purged_key_is_refused(client: httpx.AsyncClient, settings: AuthSettings) -> None:
    before = await issue(client)
    await cli(settings, "rotate-keys", "--publish-ahead", "0")
    assert "purged 0 key(s)" in await cli(settings, "purge-keys")  # too early: still within a token lifetime
    await backdate_retirement(settings, [kid(before)], timedelta(seconds=settings.access_token_ttl_seconds + 330))
    assert "purged 1 key(s)" in await cli(settings, "purge-keys")

    with pytest.raises(Unauthorized) as refused:
        await verifier_of(client, settings).verify(before)
    assert refused.value.status == 401
    response = await client.get("/auth/users", headers={"Authorization": f"Bearer {before}"})
    assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
    after = await issue(client)
    assert (await verifier_of(client, settings).verify(after)).subject == f"client:{ADMIN[0]}"
    trail = (await client.get("/auth/audit", headers={"Authorization": f"Bearer {after}"})).json()["items"]
    assert {"signing-key-rotated", "signing-keys-purged"} <= {e["action"] for e in trail}

