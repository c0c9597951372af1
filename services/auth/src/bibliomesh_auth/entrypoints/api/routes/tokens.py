"""OAuth endpoints: discovery, JWKS and the token endpoint (RFC 6749 error format, not problem+json)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator

from bibliomesh_auth.domain.scopes import SCOPES
from bibliomesh_auth.domain.text import has_control_character
from bibliomesh_auth.entrypoints.api.deps import GrantContextDep, SecretBoxDep, SettingsDep
from bibliomesh_auth.service_layer import grants
from bibliomesh_auth.service_layer.grants import OAuthError
from bibliomesh_auth.service_layer.signin import PROMPTS
from bibliomesh_auth.service_layer.token_signing import key_store
from meshkit.web import UnitOfWorkDep

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token", "password")


class OAuthRoute(APIRoute):
    """A route of the OAuth endpoints: a request they cannot read (a field missing, too long, or not a form at all)
    is answered in OAuth's own format, `invalid_request` (RFC 6749 §5.2), not as problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_oauth(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return oauth_error(OAuthError("invalid_request", _unreadable(exc)))

        return handle_oauth


def _unreadable(exc: RequestValidationError) -> str:
    # Names the fields and what is wrong, never the values sent (they may be a password, or a megabyte).
    errors = exc.errors()
    problems = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
                f"{str(e.get('msg', 'invalid')).removeprefix('Value error, ')}" for e in errors]
    # A field missing is most often a body sent in another form (JSON) than the one OAuth takes.
    hint = " (send the parameters as application/x-www-form-urlencoded)" if any(
        e.get("type") == "missing" for e in errors) else ""
    return "; ".join(dict.fromkeys(problems)) + hint


def _plain(value: str | None) -> str | None:
    if value is not None and has_control_character(value):
        raise ValueError("must not contain control characters")
    return value


Plain = AfterValidator(_plain)
"""For what is looked up or kept (a username, a code, a token): no id or name has a control character, and
PostgreSQL cannot even be asked for one holding NUL. A password or secret is only compared: anything goes."""

router = APIRouter(tags=["tokens"], route_class=OAuthRoute)
# Bounds like the login form's: whatever is sent may end up in the audit trail (a username as its actor).
CLIENT_ID_MAX, CLIENT_SECRET_MAX = 100, 500
ClientIdField = Annotated[str | None, Form(max_length=CLIENT_ID_MAX), Plain]
ClientSecretField = Annotated[str | None, Form(max_length=CLIENT_SECRET_MAX)]


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery (public).")
async def discovery(settings: SettingsDep) -> dict[str, Any]:
    issuer = settings.token_issuer.rstrip("/")
    grant_types = [g for g in GRANT_TYPES if g != "password" or settings.password_grant_enabled]
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/auth/jwks",
        "authorization_endpoint": f"{issuer}/auth/authorize",
        "token_endpoint": f"{issuer}/auth/token",
        "userinfo_endpoint": f"{issuer}/auth/userinfo",
        "revocation_endpoint": f"{issuer}/auth/revoke",
        "introspection_endpoint": f"{issuer}/auth/introspect",
        "grant_types_supported": grant_types,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        # Every answer to /auth/authorize, success or error, names us in `iss` (RFC 9207): against mix-up attacks.
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": sorted(PROMPTS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": sorted(SCOPES),
        "id_token_signing_alg_values_supported": ["ES256"],
        "subject_types_supported": ["public"],
        "claims_supported": ["sub", "institution", "roles", "name", "email", "preferred_username", "locale"],
    }


@router.get("/auth/jwks", summary="Public signing keys (public).")
async def jwks(uow: UnitOfWorkDep, settings: SettingsDep, box: SecretBoxDep) -> JSONResponse:
    keys = await key_store(uow, settings, box).public_key_set()
    return JSONResponse(keys.as_dict(private=False), headers={"Cache-Control": "public, max-age=60"})


@router.post("/auth/token", summary="Get tokens: client_credentials (partner systems), authorization_code with PKCE "
                                    "(browsers), refresh_token (rotated), password (local accounts, where enabled). "
                                    "Clients authenticate with HTTP Basic or form fields; public clients by id.")
async def token(
    request: Request,
    ctx: GrantContextDep,
    grant_type: Annotated[str, Form(max_length=50), Plain],
    scope: Annotated[str | None, Form(max_length=1000), Plain] = None,
    client_id: ClientIdField = None,
    client_secret: ClientSecretField = None,
    code: Annotated[str | None, Form(max_length=200), Plain] = None,
    redirect_uri: Annotated[str | None, Form(max_length=2000), Plain] = None,
    code_verifier: Annotated[str | None, Form(max_length=200), Plain] = None,
    refresh_token: Annotated[str | None, Form(max_length=200), Plain] = None,
    username: Annotated[str | None, Form(max_length=200), Plain] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    institution: Annotated[str | None, Form(max_length=64), Plain] = None,
) -> JSONResponse:
    try:
        if grant_type not in GRANT_TYPES:
            raise OAuthError("unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        client_id, client_secret = client_credentials_of(request, client_id, client_secret)
        client = await grants.authenticate_client(ctx, client_id, client_secret)
        if grant_type == "client_credentials":
            issued = await grants.client_credentials(ctx, client, scope)
        elif grant_type == "authorization_code":
            issued = await grants.authorization_code(ctx, client, code, redirect_uri, code_verifier)
        elif grant_type == "refresh_token":
            issued = await grants.refresh(ctx, client, refresh_token, scope)
        else:
            issued = await grants.password(ctx, client, institution, username, password, scope)
        await ctx.uow.commit()
    except OAuthError as exc:
        # What the refusal recorded stays: audit entries, failure counts, a code or refresh token burned by misuse.
        if ctx.uow.session.in_transaction():
            await ctx.uow.commit()
        return oauth_error(exc)
    return JSONResponse(issued.as_response(), headers=NO_STORE)


def oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="bibliomesh"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                        headers=headers)


def client_credentials_of(request: Request, client_id: str | None, client_secret: str | None
                          ) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
        basic_id, _, basic_secret = decoded.partition(":")
        if has_control_character(basic_id):
            raise OAuthError("invalid_request", "client_id: must not contain control characters")
        if len(basic_id) > CLIENT_ID_MAX or len(basic_secret) > CLIENT_SECRET_MAX:
            raise OAuthError("invalid_request", f"a client id is at most {CLIENT_ID_MAX} characters, a secret "
                             f"at most {CLIENT_SECRET_MAX}")
        return basic_id, basic_secret
    return client_id, client_secret
