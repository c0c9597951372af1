import base64
import json

import httpx

from .conftest import ADMIN, admin_headers


async def test_client_credentials_token_names_institution_roles_and_scopes(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/token", data={"grant_type": "client_credentials", "scope": "directory:admin"},
                                 auth=ADMIN)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "directory:admin"
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert claims["institution"] == "PLATFORM"
    assert claims["roles"] == ["platform-admin"]
    assert {"iss", "aud", "sub", "exp", "iat", "jti"} <= claims.keys()


async def test_wrong_secret_unknown_client_and_unknown_grant_get_oauth_errors(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN[0], "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=("ghost", "x"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    grant = await client.post("/auth/token", data={"grant_type": "magic"}, auth=ADMIN)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = await client.post("/auth/token", data={"grant_type": "client_credentials", "scope": "root"}, auth=ADMIN)
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"


async def test_jwks_and_discovery_are_public(client: httpx.AsyncClient) -> None:
    keys = (await client.get("/auth/jwks")).json()["keys"]
    assert keys and all("d" not in key for key in keys)  # never the private part
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert discovery["jwks_uri"].endswith("/auth/jwks")
    assert discovery["authorization_response_iss_parameter_supported"] is True  # the answers carry `iss`
    assert discovery["prompt_values_supported"] == ["consent", "login", "none", "select_account"]


async def test_forged_and_malformed_tokens_are_refused(client: httpx.AsyncClient) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({
        "iss": "http://127.0.0.1:8000", "aud": "bibliomesh", "sub": "x", "exp": 4102444800,
        "institution": "PLATFORM", "roles": ["platform-admin"], "scope": "directory:admin"}).encode()
    ).rstrip(b"=").decode()
    for token in (f"{header}.{payload}.", "not-a-jwt", ""):
        response = await client.post("/auth/institutions", json={}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["content-type"] == "application/problem+json"
    valid = await admin_headers(client)
    tampered = valid["Authorization"][:-4] + ("AAAA" if not valid["Authorization"].endswith("AAAA") else "BBBB")
    response = await client.get("/auth/institutions", headers={"Authorization": tampered})
    assert response.status_code == 200  # the directory is public: a bad token on a public route changes nothing
    response = await client.post("/auth/institutions", json={}, headers={"Authorization": tampered})
    assert response.status_code == 401


async def test_a_refused_client_authentication_stays_in_the_audit_trail(client: httpx.AsyncClient, settings) -> None:
    import sqlalchemy as sa

    from bibliomesh_auth.adapters.tables import audit_events
    from meshkit.db import create_engine

    await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(ADMIN[0], "wrong"))
    engine = create_engine(settings.effective_database_url())
    async with engine.connect() as conn:
        outcomes = (await conn.execute(sa.select(audit_events.c.action, audit_events.c.outcome)
                                       .where(audit_events.c.actor == ADMIN[0]))).all()
    await engine.dispose()
    assert ("client-authentication", "failure") in [tuple(row) for row in outcomes]
