"""The caller of the auth service's own admin endpoints: a verified token that has not been revoked since."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from bibliomesh_auth.entrypoints.api.deps import GrantContextDep
from bibliomesh_auth.service_layer.token_lifecycle import ensure_active
from meshkit.security import Principal
from meshkit.web import CurrentPrincipal


async def active_principal(principal: CurrentPrincipal, ctx: GrantContextDep) -> Principal:
    """The verified caller, refused if its token was revoked or its account or API client disabled after issuance."""
    return await ensure_active(ctx, principal)


ActivePrincipal = Annotated[Principal, Depends(active_principal)]
