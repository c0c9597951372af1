from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.settings import AuthSettings
from meshkit.testing import running
from services.auth.tests.idp.harness import LoopbackIdp, running_idp
from services.auth.tests.idp.signin_flow import CALLBACK, PUBLIC_URL
from tests.support.infra import create_database, database_url, drop_database

ADMIN = ("platform-admin", "a-long-enough-bootstrap-secret")


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0],
                        bootstrap_client_secret=SecretStr(ADMIN[1]), log_json=False)


@asynccontextmanager
async def settings_on(engine: str, tmp_path: Path, prefix: str, **extra: Any) -> AsyncIterator[AuthSettings]:
    """The service's settings on `engine` ("sqlite", or "postgresql": a database of its own, dropped after)."""
    name = await create_database(prefix) if engine == "postgresql" else None
    try:
        yield AuthSettings(data_dir=tmp_path, database_url=database_url(name) if name else "", log_json=False,
                           bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]), **extra)
    finally:
        if name:
            await drop_database(name)


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackIdp]:
    """A real OpenID provider (oidc-provider) on loopback, one per test module, sending people back to us."""
    with running_idp(CALLBACK) as provider:
        yield provider


@pytest.fixture
def app(settings: AuthSettings) -> FastAPI:
    """The service at the address the sign-in pages and identity providers send people back to, allowed to use an
    identity provider on loopback (the tests' real one)."""
    return create_app(settings=settings.model_copy(update={"public_url": PUBLIC_URL,
                                                           "identity_provider_allow_private": True}), migrate=True)


@pytest.fixture
async def client(settings: AuthSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings=settings, migrate=True)) as client:
        yield client


async def admin_headers(client: httpx.AsyncClient, scope: str | None = None) -> dict[str, str]:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = await client.post("/auth/token", data=data, auth=ADMIN)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
