"""The caller of the auth service's own admin endpoints: a verified token that has not been revoked since; and who
may call each endpoint, decided as a dependency so that a caller without the right gets 403 before the body or query
is validated (FastAPI runs the dependencies first and reports validation errors after them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from bibliomesh_auth.domain.permissions import (
    managed_institution,
    require_administrator_of,
    require_directory_admin,
    require_person,
)
from bibliomesh_auth.entrypoints.api.deps import GrantContextDep
from bibliomesh_auth.service_layer.token_lifecycle import ensure_active
from meshkit.security import Principal
from meshkit.web import CurrentPrincipal


async def active_principal(principal: CurrentPrincipal, ctx: GrantContextDep) -> Principal:
    """The verified caller, refused if its token was revoked or its account or API client disabled after issuance."""
    return await ensure_active(ctx, principal, principal.issued_at)


ActivePrincipal = Annotated[Principal, Depends(active_principal)]


async def directory_admin(caller: ActivePrincipal) -> Principal:
    require_directory_admin(caller, "do this")
    return caller


async def administrator(code: str, caller: ActivePrincipal) -> Principal:
    """Of the institution `{code}` in the path."""
    require_administrator_of(caller, code, "do this")
    return caller


async def manager(caller: ActivePrincipal) -> Principal:
    """Of some institution, with `accounts:manage`: which one the request names is checked by the use case."""
    managed_institution(caller, None)
    return caller


async def person(caller: ActivePrincipal) -> Principal:
    require_person(caller, "do this")
    return caller


DirectoryAdmin = Annotated[Principal, Depends(directory_admin)]
"""A platform admin whose token carries `directory:admin`."""
Administrator = Annotated[Principal, Depends(administrator)]
"""A platform admin with `directory:admin`, or an institution admin of the institution `{code}` in the path whose
token carries `accounts:manage`."""
Manager = Annotated[Principal, Depends(manager)]
"""An institution admin (of their own institution) or a platform admin, whose token carries `accounts:manage`:
accounts, API clients, the audit trail."""
Person = Annotated[Principal, Depends(person)]
"""A signed-in person (not an API client)."""
