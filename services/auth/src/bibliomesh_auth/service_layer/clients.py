"""Use cases of API clients: partner systems (confidential, secret shown once) and browser apps (public, PKCE)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from bibliomesh_auth.adapters.client_repository import Client, ClientRepository
from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from bibliomesh_auth.domain.clients import grant_problem, redirect_uri_problem, scope_problem
from bibliomesh_auth.domain.permissions import managed_institution, require_manager_of
from bibliomesh_auth.domain.scopes import SCOPES
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.local_login import hasher
from bibliomesh_auth.settings import AuthSettings
from meshkit.problems import Conflict, Forbidden, NotFound, Problem
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

PUBLIC_SECRET_HASH = "!public"  # noqa: S105 - not a hash at all, so no secret can ever match a public client
PARTNER_ROLES = frozenset({"staff"})
PLATFORM_ROLES = frozenset({"platform-admin"})


class InvalidClient(Problem):
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


@dataclass(frozen=True)
class NewClient:
    """A client just created or re-keyed, with its secret: the only time anyone sees it."""

    client: Client
    secret: str | None


async def create_client(uow: UnitOfWork, settings: AuthSettings, caller: Principal, fields: dict[str, Any],
                        ip: str | None = None) -> NewClient:
    """Register a client for an institution the caller manages; public clients only by a platform admin."""
    if caller.is_platform_admin and not fields.get("institution"):
        # Defaulting to the platform's own institution would quietly make a platform-admin client.
        raise InvalidClient("institution", "a platform admin must name the institution the client acts for")
    institution = managed_institution(caller, fields.get("institution") or caller.institution)
    assert institution is not None
    platform_client = institution == settings.platform_institution
    if platform_client and not caller.is_platform_admin:
        raise Forbidden("only a platform admin may create clients of the platform itself")
    if not platform_client and await InstitutionRepository(uow.session).get(institution) is None:
        raise InvalidClient("institution", f"no institution {institution}")
    is_public = bool(fields.get("is_public"))
    if is_public and not caller.is_platform_admin:
        raise Forbidden("only a platform admin may register public (browser) clients")
    default_grants = ["authorization_code", "refresh_token"] if is_public else ["client_credentials"]
    grants = frozenset(fields.get("grant_types") or default_grants)
    _check(grant_problem(grants, is_public=is_public, by_platform_admin=caller.is_platform_admin), "grant_types")
    scopes = frozenset(fields.get("scopes") or (SCOPES if is_public else ()))
    if is_public:
        _check(scope_problem(scopes, platform_client=True, by_platform_admin=True), "scopes")
    else:
        _check(scope_problem(scopes, platform_client=platform_client, by_platform_admin=caller.is_platform_admin),
               "scopes")
        if not scopes:
            raise InvalidClient("scopes", "a partner client needs at least one scope")
    redirect_uris = list(dict.fromkeys(fields.get("redirect_uris") or []))
    if "authorization_code" in grants and not redirect_uris:
        raise InvalidClient("redirect_uris", "the authorization_code grant needs at least one redirect URI")
    for number, uri in enumerate(redirect_uris):
        _check(redirect_uri_problem(uri, allow_plain_http=settings.environment == "development"),
               f"redirect_uris.{number}")
    client_id = fields.get("client_id") or _new_client_id(institution)
    if client_id == settings.token_audience:
        raise InvalidClient("client_id", "reserved: it is the platform's token audience")
    repo = ClientRepository(uow.session)
    if await repo.get(client_id) is not None:
        raise Conflict(f"client {client_id} already exists", errors=[{"field": "client_id", "message": "taken"}])
    secret = None if is_public else secrets.token_urlsafe(32)
    # Roles describe the client itself, so only a client that gets tokens of its own has any.
    acts_itself = "client_credentials" in grants and not is_public
    roles = set(PLATFORM_ROLES if platform_client else PARTNER_ROLES) if acts_itself else set()
    await repo.add(client_id, fields["name"], institution, hasher.hash(secret) if secret else PUBLIC_SECRET_HASH,
                   set(scopes), roles, redirect_uris=redirect_uris, grant_types=sorted(grants), is_public=is_public,
                   created_by=caller.subject)
    await audit.record(uow, "client-created", actor=caller.subject, institution=institution, target=client_id,
                       ip=ip, public=is_public, scopes=sorted(scopes), grant_types=sorted(grants))
    client = await repo.get(client_id)
    assert client is not None
    return NewClient(client, secret)


async def list_clients(uow: UnitOfWork, caller: Principal, institution: str | None,
                       include_disabled: bool = True) -> list[Client]:
    """The clients of the institutions the caller manages (never their secrets)."""
    return await ClientRepository(uow.session).list(managed_institution(caller, institution),
                                                    include_disabled=include_disabled)


async def get_client(uow: UnitOfWork, caller: Principal, client_id: str) -> Client:
    """One client of an institution the caller manages."""
    managed_institution(caller, None)
    client = await ClientRepository(uow.session).get(client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    require_manager_of(caller, client.institution)
    return client


async def rotate_secret(uow: UnitOfWork, caller: Principal, client_id: str, ip: str | None = None) -> NewClient:
    """A new secret for a confidential client; the old one stops working at once."""
    client = await get_client(uow, caller, client_id)
    if client.is_public:
        raise Conflict("a public client has no secret")
    if client.disabled:
        raise Conflict("the client is disabled")
    secret = secrets.token_urlsafe(32)
    await ClientRepository(uow.session).update_secret(client_id, hasher.hash(secret))
    await audit.record(uow, "client-secret-rotated", actor=caller.subject, institution=client.institution,
                       target=client_id, ip=ip)
    return NewClient(client, secret)


async def disable_client(uow: UnitOfWork, caller: Principal, client_id: str, ip: str | None = None) -> Client:
    """The client can no longer get tokens; the refresh tokens issued to it, and its own access tokens, stop working."""
    client = await get_client(uow, caller, client_id)
    if client.disabled:
        return client
    if caller.client_id == client_id and caller.subject == f"client:{client_id}":
        raise Conflict("a client cannot disable itself")
    repo = ClientRepository(uow.session)
    await repo.disable(client_id)
    await GrantRepository(uow.session).revoke_client_tokens(client_id)
    await audit.record(uow, "client-disabled", actor=caller.subject, institution=client.institution,
                       target=client_id, ip=ip)
    disabled = await repo.get(client_id)
    assert disabled is not None
    return disabled


def _new_client_id(institution: str) -> str:
    return f"{re.sub(r'[^a-z0-9]+', '-', institution.lower()).strip('-')}-{secrets.token_hex(6)}"


def _check(problem: str | None, field: str) -> None:
    if problem:
        raise InvalidClient(field, problem)
