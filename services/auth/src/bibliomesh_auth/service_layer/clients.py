"""Use cases of API clients: partner systems (confidential, secret shown once) and browser apps (public, PKCE)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from bibliomesh_auth.adapters.client_repository import Client, ClientRepository
from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from bibliomesh_auth.domain.client_ids import client_id_problem, institution_prefix, look_alike_key
from bibliomesh_auth.domain.clients import PLATFORM_ONLY_GRANTS, grant_problem, redirect_uri_problem, scope_problem
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
class Access:
    """What a client may ask for and where it may send people back: checked alike at registration and on edits."""

    scopes: frozenset[str]
    grant_types: frozenset[str]
    redirect_uris: tuple[str, ...]

    @classmethod
    def of(cls, client: Client) -> Access:
        return cls(client.scopes, client.grant_types, client.redirect_uris)


NO_ACCESS = Access(frozenset(), frozenset(), ())


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
    is_public = bool(fields.get("is_public"))
    require_may_manage(caller, platform_client=platform_client, is_public=is_public)
    if not platform_client and await InstitutionRepository(uow.session).get(institution) is None:
        raise InvalidClient("institution", f"no institution {institution}")
    default_grants = ["authorization_code", "refresh_token"] if is_public else ["client_credentials"]
    access = checked_access(settings, caller, Access(
        scopes=frozenset(fields.get("scopes") or (SCOPES if is_public else ())),
        grant_types=frozenset(fields.get("grant_types") or default_grants),
        redirect_uris=tuple(dict.fromkeys(fields.get("redirect_uris") or []))),
        NO_ACCESS, platform_client=platform_client, is_public=is_public)
    repo = ClientRepository(uow.session)
    client_id = await _free_client_id(uow, settings, caller, institution, fields.get("client_id"))
    secret = None if is_public else secrets.token_urlsafe(32)
    await repo.add(client_id, fields["name"], institution, hasher.hash(secret) if secret else PUBLIC_SECRET_HASH,
                   set(access.scopes), set(client_roles(access, platform_client=platform_client, is_public=is_public)),
                   redirect_uris=list(access.redirect_uris), grant_types=sorted(access.grant_types),
                   is_public=is_public, created_by=caller.subject)
    await audit.record(uow, "client-created", actor=caller.subject, institution=institution, target=client_id,
                       ip=ip, public=is_public, scopes=sorted(access.scopes), grant_types=sorted(access.grant_types))
    client = await repo.get(client_id)
    assert client is not None
    return NewClient(client, secret)


def require_may_manage(caller: Principal, *, platform_client: bool, is_public: bool) -> None:
    """Clients of the platform itself, and public (browser) clients, are registered and changed by platform admins
    only (on top of managing the client's institution)."""
    if platform_client and not caller.is_platform_admin:
        raise Forbidden("only a platform admin may register or change clients of the platform itself")
    if is_public and not caller.is_platform_admin:
        raise Forbidden("only a platform admin may register or change public (browser) clients")


def checked_access(settings: AuthSettings, caller: Principal, wanted: Access, held: Access, *,
                   platform_client: bool, is_public: bool) -> Access:
    """`wanted`, if the caller may give it to the client, which holds `held` now (nothing, at registration).

    What it adds is checked against the caller's rights; what the client already holds may stay, so an institution
    admin can edit a client that a platform admin gave `directory:admin` or the password grant without losing it.
    """
    adds_platform_only = bool((wanted.grant_types - held.grant_types) & PLATFORM_ONLY_GRANTS)
    _check(grant_problem(wanted.grant_types, is_public=is_public,
                         by_platform_admin=caller.is_platform_admin or not adds_platform_only), "grant_types")
    added_scopes = wanted.scopes - held.scopes
    if is_public:
        _check(scope_problem(added_scopes, platform_client=True, by_platform_admin=True), "scopes")
    else:
        _check(scope_problem(added_scopes, platform_client=platform_client,
                             by_platform_admin=caller.is_platform_admin), "scopes")
        if not wanted.scopes:
            raise InvalidClient("scopes", "a partner client needs at least one scope")
    if "authorization_code" in wanted.grant_types and not wanted.redirect_uris:
        raise InvalidClient("redirect_uris", "the authorization_code grant needs at least one redirect URI")
    added_uris = [number for number, uri in enumerate(wanted.redirect_uris) if uri not in held.redirect_uris]
    if added_uris and not is_public:
        # Only public clients may use the authorization code grant, the one grant that redirects.
        raise InvalidClient("redirect_uris", "only public (browser) clients have redirect URIs")
    for number in added_uris:
        _check(redirect_uri_problem(wanted.redirect_uris[number], allow_plain_http=settings.environment ==
                                    "development"), f"redirect_uris.{number}")
    return wanted


def client_roles(access: Access, *, platform_client: bool, is_public: bool) -> frozenset[str]:
    """Roles describe the client itself, so only a client that gets tokens of its own has any."""
    if is_public or "client_credentials" not in access.grant_types:
        return frozenset()
    return PLATFORM_ROLES if platform_client else PARTNER_ROLES


async def list_clients(uow: UnitOfWork, caller: Principal, institution: str | None,
                       include_disabled: bool = True) -> list[Client]:
    """The clients of the institutions the caller manages (never their secrets)."""
    return await ClientRepository(uow.session).list(managed_institution(caller, institution),
                                                    include_disabled=include_disabled)


async def get_client(uow: UnitOfWork, caller: Principal, client_id: str, *, lock: bool = False) -> Client:
    """One client of an institution the caller manages; `lock` it to change it."""
    managed_institution(caller, None)
    client = await ClientRepository(uow.session).get(client_id, lock=lock)
    if client is None:
        raise NotFound(f"no client {client_id}")
    require_manager_of(caller, client.institution)
    return client


async def rotate_secret(uow: UnitOfWork, caller: Principal, client_id: str, ip: str | None = None) -> NewClient:
    """A new secret for a confidential client; the old one stops working at once. Allowed while the client is
    disabled, so a leaked secret can be replaced before the client is enabled again."""
    client = await get_client(uow, caller, client_id, lock=True)
    if client.is_public:
        raise Conflict("a public client has no secret")
    secret = secrets.token_urlsafe(32)
    await ClientRepository(uow.session).update_secret(client_id, hasher.hash(secret))
    await audit.record(uow, "client-secret-rotated", actor=caller.subject, institution=client.institution,
                       target=client_id, ip=ip)
    return NewClient(client, secret)


async def disable_client(uow: UnitOfWork, caller: Principal, client_id: str, ip: str | None = None) -> Client:
    """The client can no longer get tokens; every token issued to it so far (refresh tokens, access tokens, its own
    and people's, and authorization codes not redeemed yet) stops working, for good: enabling it again does not bring
    them back."""
    client = await get_client(uow, caller, client_id, lock=True)
    if client.disabled:
        return client
    if caller.client_id == client_id and caller.subject == f"client:{client_id}":
        raise Conflict("a client cannot disable itself")
    repo = ClientRepository(uow.session)
    await repo.disable(client_id)
    grants = GrantRepository(uow.session)
    await grants.revoke_client_tokens(client_id)
    await grants.expire_client_codes(client_id)
    await audit.record(uow, "client-disabled", actor=caller.subject, institution=client.institution,
                       target=client_id, ip=ip)
    disabled = await repo.get(client_id)
    assert disabled is not None
    return disabled


async def _free_client_id(uow: UnitOfWork, settings: AuthSettings, caller: Principal, institution: str,
                          chosen: str | None) -> str:
    """The chosen id if the rules allow it (or a generated one), unless it looks like one that exists."""
    client_id = chosen or institution_prefix(institution) + secrets.token_hex(6)
    codes = [*await InstitutionRepository(uow.session).codes(), settings.platform_institution]
    _check(client_id_problem(client_id, institution=institution, institutions=codes,
                             chosen_by_platform_admin=caller.is_platform_admin), "client_id")
    if look_alike_key(client_id) == look_alike_key(settings.token_audience):
        raise InvalidClient("client_id", "reserved: it is the platform's token audience")
    existing = await ClientRepository(uow.session).ids(lock=True)
    if client_id in existing:
        raise Conflict(f"client {client_id} already exists", errors=[{"field": "client_id", "message": "taken"}])
    if look_alike_key(client_id) in {look_alike_key(taken) for taken in existing}:
        message = "too like the id of an existing client (case, separators and look-alike characters aside)"
        raise Conflict(f"client_id: {message}", errors=[{"field": "client_id", "message": message}])
    return client_id


def _check(problem: str | None, field: str) -> None:
    if problem:
        raise InvalidClient(field, problem)
