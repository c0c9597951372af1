from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.settings import AuthSettings
from meshkit.testing import running

ADMIN = ("platform-admin", "a-long-enough-bootstrap-secret")


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0],
                        bootstrap_client_secret=SecretStr(ADMIN[1]), log_json=False)


@pytest.fixture
async def client(settings: AuthSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings=settings, migrate=True)) as client:
        yield client


async def admin_headers(client: httpx.AsyncClient, scope: str | None = None) -> dict[str, str]:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = await client.post("/auth/token", data=data, auth=ADMIN)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
