"""Changing an API client after registration (by registration's own rules), and enabling it again."""

from __future__ import annotations

from typing import Any

from bibliomesh_auth.adapters.client_repository import Client, ClientRepository
from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.domain.clients import wait_until_tokens_are_new
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.clients import Access, checked_access, client_roles, get_client, require_may_manage
from bibliomesh_auth.settings import AuthSettings
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


async def update_client(uow: UnitOfWork, settings: AuthSettings, caller: Principal, client_id: str,
                        changes: dict[str, Any], ip: str | None = None) -> Client:
    """Change the fields present in `changes`: name, scopes, grant types, redirect URIs (public clients).

    A refresh never grants more than the client holds at that moment, so narrowed scopes reach people's sessions at
    their next refresh; the client's own access tokens keep theirs until they expire (minutes).
    """
    client = await get_client(uow, caller, client_id, lock=True)
    platform_client = client.institution == settings.platform_institution
    require_may_manage(caller, platform_client=platform_client, is_public=client.is_public)
    held = Access.of(client)
    access = checked_access(settings, caller, Access(
        scopes=frozenset(changes.get("scopes", held.scopes)),
        grant_types=frozenset(changes.get("grant_types", held.grant_types)),
        redirect_uris=tuple(dict.fromkeys(changes.get("redirect_uris", held.redirect_uris)))),
        held, platform_client=platform_client, is_public=client.is_public)
    name = changes.get("name", client.name)
    changed = [field for field, before, after in (
        ("name", client.name, name), ("scopes", held.scopes, access.scopes),
        ("grant_types", held.grant_types, access.grant_types),
        ("redirect_uris", held.redirect_uris, access.redirect_uris)) if before != after]
    if not changed:
        return client
    repo = ClientRepository(uow.session)
    await repo.update(client_id, name=name, scopes=access.scopes, grant_types=access.grant_types,
                      redirect_uris=access.redirect_uris,
                      roles=client_roles(access, platform_client=platform_client, is_public=client.is_public))
    if "refresh_token" in held.grant_types - access.grant_types:
        # Unusable now anyway, but giving the grant back must not bring them back to life.
        await GrantRepository(uow.session).revoke_client_tokens(client_id)
    await audit.record(uow, "client-updated", actor=caller.subject, institution=client.institution,
                       target=client_id, ip=ip, fields=changed, scopes=sorted(access.scopes),
                       grant_types=sorted(access.grant_types), redirect_uris=list(access.redirect_uris))
    updated = await repo.get(client_id)
    assert updated is not None
    return updated


async def enable_client(uow: UnitOfWork, settings: AuthSettings, caller: Principal, client_id: str,
                        ip: str | None = None) -> Client:
    """The client may get tokens again, with its current secret (rotate it first if it leaked). What was issued to it
    before it was disabled stays refused (refresh and access tokens, codes): the people using it sign in again. Who
    may enable it is who may change it (a browser client or one of the platform's own: platform admins only)."""
    await wait_until_tokens_are_new((await get_client(uow, caller, client_id)).tokens_not_before)
    client = await get_client(uow, caller, client_id, lock=True)
    require_may_manage(caller, platform_client=client.institution == settings.platform_institution,
                       is_public=client.is_public)
    if not client.disabled:
        return client
    repo = ClientRepository(uow.session)
    await repo.enable(client_id)
    await audit.record(uow, "client-enabled", actor=caller.subject, institution=client.institution,
                       target=client_id, ip=ip)
    enabled = await repo.get(client_id)
    assert enabled is not None
    return enabled
