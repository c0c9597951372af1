"""Token lifecycle endpoints: revocation (RFC 7009), introspection (RFC 7662) and OpenID Connect userinfo.

They answer in the OAuth error format (`{"error": ..., "error_description": ...}`), as those specifications say.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from bibliomesh_auth.entrypoints.api.deps import GrantContextDep
from bibliomesh_auth.entrypoints.api.routes.tokens import (
    NO_STORE,
    ClientIdField,
    ClientSecretField,
    OAuthRoute,
    Plain,
    client_credentials_of,
    oauth_error,
)
from bibliomesh_auth.service_layer import grants, token_lifecycle
from bibliomesh_auth.service_layer.grants import OAuthError

router = APIRouter(prefix="/auth", tags=["tokens"], route_class=OAuthRoute)
# Optional here only so that the client is authenticated first: without it the answer is `invalid_request`.
TokenField = Annotated[str | None, Form(max_length=8192, description="The token in question (required)."), Plain]
HintField = Annotated[str | None, Form(max_length=50, description="`access_token` or `refresh_token`."), Plain]


@router.post("/revoke", summary="Revoke a token (RFC 7009): a refresh token ends its whole family, an access token "
             "is refused until it expires; unknown tokens are accepted silently (the client the token was issued "
             "to, authenticated like at /auth/token).")
async def revoke(request: Request, ctx: GrantContextDep, token: TokenField = None, token_type_hint: HintField = None,
                 client_id: ClientIdField = None, client_secret: ClientSecretField = None) -> Response:
    try:
        client_id, client_secret = client_credentials_of(request, client_id, client_secret)
        client = await grants.authenticate_client(ctx, client_id, client_secret)
        await token_lifecycle.revoke(ctx, client, token, token_type_hint)
        await ctx.uow.commit()
    except OAuthError as exc:
        await _keep_audit(ctx, exc)
        return oauth_error(exc)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/introspect", summary="Is this token active, and what does it grant (RFC 7662)? (confidential API "
             "clients, authenticated like at /auth/token).")
async def introspect(request: Request, ctx: GrantContextDep, token: TokenField = None,
                     token_type_hint: HintField = None, client_id: ClientIdField = None,
                     client_secret: ClientSecretField = None) -> JSONResponse:
    try:
        client_id, client_secret = client_credentials_of(request, client_id, client_secret)
        client = await grants.authenticate_client(ctx, client_id, client_secret)
        answer = await token_lifecycle.introspect(ctx, client, token, token_type_hint)
    except OAuthError as exc:
        await _keep_audit(ctx, exc)
        return oauth_error(exc)
    return JSONResponse(answer, headers=NO_STORE)


USERINFO = "The signed-in person's profile claims (OpenID Connect; the person's own access token with `openid`)."


@router.get("/userinfo", summary=USERINFO, operation_id="userinfo")
@router.post("/userinfo", summary=USERINFO, operation_id="userinfo_post")
async def userinfo(request: Request, ctx: GrantContextDep) -> JSONResponse:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    try:
        claims: dict[str, Any] = await token_lifecycle.userinfo(ctx, token)
    except OAuthError as exc:
        challenge = f'Bearer error="{exc.error}", error_description="{exc.description}"'
        if exc.error == "insufficient_scope":
            challenge += ', scope="openid"'
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                            headers={**NO_STORE, "WWW-Authenticate": challenge})
    return JSONResponse(claims, headers=NO_STORE)


async def _keep_audit(ctx: grants.GrantContext, exc: OAuthError) -> None:
    # A failed client authentication is audited inside the transaction; keep that record.
    if exc.error == "invalid_client":
        await ctx.uow.commit()
