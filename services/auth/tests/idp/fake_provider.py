"""A small fake OpenID provider on an httpx transport, for ID tokens no real provider would issue (wrong
signature, audience, issuer, time, nonce, algorithm) and answers it would not give (an old `auth_time`)."""

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from bibliomesh_auth.federation.client import Federation
from services.auth.tests.idp.signin_flow import UNI, runtime_of

ISSUER = "https://idp.fake.example"
CLIENT_ID, CLIENT_SECRET = "bibliomesh-at-fake", "fake-client-secret"


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


class FakeProvider:
    """Discovery, JWKS, token and userinfo endpoints; the ID token is whatever the test asks for."""

    def __init__(self) -> None:
        self.published = [rsa_key("key-1")]
        self.signing_key: RSAKey | OctKey = self.published[0]
        self.algorithm = "RS256"
        self.claims: dict[str, Any] = {}
        self.nonce: str | None = None
        self.jwks_fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks", "code_challenge_methods_supported": ["S256"]})
        if path == "/jwks":
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.published]})
        if path == "/token":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            form = parse_qs(request.content.decode())
            if request.headers.get("authorization") != expected or form.get("code") != ["upstream-code"]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            return httpx.Response(200, json={"access_token": "opaque", "token_type": "Bearer",
                                             "id_token": self.id_token()})
        return httpx.Response(404)

    def id_token(self) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "someone", "iat": now, "exp": now + 300,
                  "nonce": self.nonce, "preferred_username": "someone", "email": "someone@fake.example",
                  "name": "Some One", "eduPersonAffiliation": ["student"], **self.claims}
        claims = {name: value for name, value in claims.items() if value is not None}
        if self.algorithm == "none":
            header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"{header}.{body}."
        header = {"alg": self.algorithm, **({"kid": self.signing_key.kid} if self.signing_key.kid else {})}
        return jwt.encode(header, claims, self.signing_key, algorithms=[self.algorithm])



def use_fake_provider(app: FastAPI, fake: FakeProvider) -> None:
    """`app` reaches identity providers through `fake` (its key cache refreshed at every unknown key id)."""
    runtime_of(app).extra["federation"] = Federation(allow_private=True, transport=httpx.MockTransport(fake.handle),
                                                     min_key_refresh_seconds=0)


async def configure_fake_provider(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """UNI signs in at the fake provider, students as patrons."""
    saved = await client.put(f"/auth/institutions/{UNI['code']}/identity-provider", headers=admin, json={
        "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "role_rules": {"student": ["patron"]}})
    assert saved.status_code == 200, saved.text
