"""Each institution's identity provider, one per institution. The client secret is stored sealed.

`protocol` says how to talk to it ("oidc" today); `issuer` is the OIDC issuer (for SAML: the IdP's entityID),
`client_id` our identifier there (for SAML: our SP entityID). Claim names and role rules are protocol-neutral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import identity_providers
from bibliomesh_auth.federation.mapping import ClaimNames, RoleRules


@dataclass(frozen=True)
class IdentityProvider:
    institution: str
    protocol: str
    issuer: str
    client_id: str
    sealed_client_secret: str
    scopes: str
    claim_names: ClaimNames
    role_rules: RoleRules
    enabled: bool
    updated_at: datetime


def _provider(row: Any) -> IdentityProvider:
    rules = row.role_rules or {}
    updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
    return IdentityProvider(
        institution=row.institution, protocol=row.protocol, issuer=row.issuer, client_id=row.client_id,
        sealed_client_secret=row.client_secret, scopes=row.scopes, claim_names=ClaimNames(**(row.claims or {})),
        role_rules=RoleRules.of(rules.get("rules", {}), rules.get("default_roles", []),
                                rules.get("affiliation_scopes", [])), enabled=row.enabled,
        updated_at=updated)


def _columns(provider: IdentityProvider) -> dict[str, Any]:
    rules = provider.role_rules
    return {
        "protocol": provider.protocol, "issuer": provider.issuer, "client_id": provider.client_id,
        "client_secret": provider.sealed_client_secret, "scopes": provider.scopes,
        "claims": provider.claim_names.as_dict(),
        # The one JSON column holds the rules and the fallback together: they are read and changed together.
        "role_rules": {"rules": {name: sorted(roles) for name, roles in sorted(rules.by_affiliation.items())},
                       "default_roles": sorted(rules.default_roles),
                       "affiliation_scopes": sorted(rules.affiliation_scopes)},
        "enabled": provider.enabled, "updated_at": provider.updated_at,
    }


class IdentityProviderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, institution: str) -> IdentityProvider | None:
        row = (await self.session.execute(
            sa.select(identity_providers).where(identity_providers.c.institution == institution))).first()
        return _provider(row) if row else None

    async def enabled_for(self, institution: str) -> IdentityProvider | None:
        """The provider people of `institution` sign in with, if it has one switched on."""
        provider = await self.get(institution)
        return provider if provider is not None and provider.enabled else None

    async def save(self, provider: IdentityProvider) -> None:
        values = _columns(provider)
        result = await self.session.execute(
            sa.update(identity_providers).where(identity_providers.c.institution == provider.institution)
            .values(**values))
        if not result.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(sa.insert(identity_providers).values(institution=provider.institution,
                                                                            **values))

    async def delete(self, institution: str) -> bool:
        result = await self.session.execute(
            sa.delete(identity_providers).where(identity_providers.c.institution == institution))
        return bool(result.rowcount)  # type: ignore[attr-defined]
