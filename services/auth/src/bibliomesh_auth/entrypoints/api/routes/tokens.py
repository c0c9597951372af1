"""OAuth endpoints: discovery, JWKS and the token endpoint (RFC 6749 error format, not problem+json)."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from bibliomesh_auth.domain.scopes import SCOPES
from bibliomesh_auth.service_layer.tokens import OAuthError, client_credentials, key_store
from bibliomesh_auth.settings import AuthSettings
from meshkit.web import UnitOfWorkDep, get_runtime

router = APIRouter(tags=["tokens"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _settings(request: Request) -> AuthSettings:
    settings: AuthSettings = get_runtime(request).settings  # type: ignore[assignment,unused-ignore]
    return settings


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery (public).")
async def discovery(request: Request) -> dict[str, Any]:
    issuer = _settings(request).token_issuer.rstrip("/")
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/auth/jwks",
        "token_endpoint": f"{issuer}/auth/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(SCOPES),
        "id_token_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    }


@router.get("/auth/jwks", summary="Public signing keys (public).")
async def jwks(request: Request, uow: UnitOfWorkDep) -> JSONResponse:
    keys = await key_store(uow, _settings(request)).public_key_set()
    return JSONResponse(keys.as_dict(private=False), headers={"Cache-Control": "public, max-age=60"})


@router.post("/auth/token", summary="Get an access token (client credentials).")
async def token(
    request: Request,
    uow: UnitOfWorkDep,
    grant_type: Annotated[str, Form()],
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    try:
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        client_id, client_secret = _client_auth(request, client_id, client_secret)
        issued = await client_credentials(uow, _settings(request), client_id, client_secret, scope)
    except OAuthError as exc:
        headers = dict(_NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="bibliomesh"'
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                            headers=headers)
    return JSONResponse({"access_token": issued.access_token, "token_type": issued.token_type,
                         "expires_in": issued.expires_in, "scope": issued.scope}, headers=_NO_STORE)


def _client_auth(request: Request, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
            basic_id, _, basic_secret = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
        return basic_id, basic_secret
    if not client_id or not client_secret:
        raise OAuthError("invalid_client", "client credentials are required", status=401)
    return client_id, client_secret
