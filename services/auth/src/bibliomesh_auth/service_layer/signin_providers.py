"""Configuring an institution's identity provider: by a platform admin, or by an admin of that institution.

Saving an enabled provider fetches its discovery document first, so a wrong or unreachable issuer is a 422 at
save time rather than a broken sign-in page later. Every change is audited; the client secret never leaves sealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bibliomesh_auth.adapters.identity_provider_repository import IdentityProvider, IdentityProviderRepository
from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from bibliomesh_auth.domain.permissions import require_administrator_of
from bibliomesh_auth.federation.client import Federation
from bibliomesh_auth.federation.discovery import issuer_problem
from bibliomesh_auth.federation.errors import ProviderUnavailable
from bibliomesh_auth.federation.mapping import ROLES_AN_IDP_MAY_GRANT, ClaimNames, RoleRules
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.settings import AuthSettings
from meshkit.outbound_urls import url_problem
from meshkit.problems import NotFound, Problem
from meshkit.secret_box import SecretBox
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


class InvalidIdentityProvider(Problem):
    status = 422


@dataclass(frozen=True)
class ProviderChange:
    """What an admin sends; `client_secret=None` keeps the stored one."""

    protocol: str
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    claim_names: ClaimNames
    role_rules: RoleRules
    enabled: bool


async def provider_of(uow: UnitOfWork, caller: Principal, institution: str) -> IdentityProvider:
    """The institution's provider configuration (secret still sealed), for those who may manage it."""
    await _check_access(uow, caller, institution)
    provider = await IdentityProviderRepository(uow.session).get(institution)
    if provider is None:
        raise NotFound(f"{institution} has no identity provider")
    return provider


async def configure_provider(uow: UnitOfWork, caller: Principal, institution: str, change: ProviderChange, *,
                             box: SecretBox, federation: Federation, settings: AuthSettings,
                             ip: str | None = None) -> IdentityProvider:
    """Create or replace the configuration; an enabled one must answer discovery for exactly its issuer."""
    await _check_access(uow, caller, institution)
    repo = IdentityProviderRepository(uow.session)
    current = await repo.get(institution)
    _validate(change, settings, has_secret=current is not None)
    if change.enabled:
        federation.forget(change.issuer)
        try:
            await federation.metadata(change.issuer, require_https=settings.environment == "production", fresh=True)
        except ProviderUnavailable as exc:
            raise InvalidIdentityProvider(f"the identity provider cannot be used: {exc.reason}",
                                          errors=[{"field": "issuer", "message": exc.reason}]) from exc
    sealed = box.seal(change.client_secret) if change.client_secret is not None else None
    provider = IdentityProvider(
        institution=institution, protocol=change.protocol, issuer=change.issuer, client_id=change.client_id,
        sealed_client_secret=sealed or (current.sealed_client_secret if current else ""), scopes=change.scopes,
        claim_names=change.claim_names, role_rules=change.role_rules, enabled=change.enabled,
        updated_at=datetime.now(UTC))
    await repo.save(provider)
    if current is not None:
        federation.forget(current.issuer)
    await audit.record(uow, "identity-provider-configured", actor=caller.subject, institution=institution,
                       target=provider.issuer, ip=ip, created=current is None, enabled=provider.enabled,
                       changed=_changed_fields(current, provider, secret_changed=sealed is not None))
    return provider


async def remove_provider(uow: UnitOfWork, caller: Principal, institution: str, *, federation: Federation,
                          ip: str | None = None) -> None:
    """Its people sign in with local accounts from now on (if they have any)."""
    await _check_access(uow, caller, institution)
    repo = IdentityProviderRepository(uow.session)
    current = await repo.get(institution)
    if current is None or not await repo.delete(institution):
        raise NotFound(f"{institution} has no identity provider")
    federation.forget(current.issuer)
    await audit.record(uow, "identity-provider-removed", actor=caller.subject, institution=institution,
                       target=current.issuer, ip=ip)


async def _check_access(uow: UnitOfWork, caller: Principal, institution: str) -> None:
    require_administrator_of(caller, institution, "manage its identity provider")
    if await InstitutionRepository(uow.session).get(institution) is None:
        raise NotFound(f"no institution {institution}")


def _validate(change: ProviderChange, settings: AuthSettings, *, has_secret: bool) -> None:
    errors: list[dict[str, str]] = []
    if change.protocol != "oidc":
        errors.append({"field": "protocol", "message": "only `oidc` is supported so far"})
    # A literal internal address is refused even for a provider saved disabled (nothing is fetched then); a name
    # is resolved and checked when the discovery document is fetched (an enabled provider, and every use).
    problem = issuer_problem(change.issuer, require_https=settings.environment == "production") or url_problem(
        change.issuer, allow_private=settings.identity_provider_allow_private, public_schemes=("https", "http"))
    if problem is not None:
        errors.append({"field": "issuer", "message": problem})
    if "openid" not in change.scopes.split():
        errors.append({"field": "scopes", "message": "must include `openid`"})
    if change.client_secret is None and not has_secret:
        errors.append({"field": "client_secret", "message": "required when the provider is first configured"})
    not_grantable = change.role_rules.granted_roles() - ROLES_AN_IDP_MAY_GRANT
    if not_grantable:
        errors.append({"field": "role_rules", "message": f"cannot grant {', '.join(sorted(not_grantable))}"})
    if errors:
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        raise InvalidIdentityProvider(f"Invalid value for: {fields}", errors=errors)


def _changed_fields(before: IdentityProvider | None, after: IdentityProvider, *, secret_changed: bool) -> list[str]:
    names = ("protocol", "issuer", "client_id", "scopes", "claim_names", "role_rules", "enabled")
    changed = [n for n in names if before is None or getattr(before, n) != getattr(after, n)]
    return [*changed, "client_secret"] if secret_changed else changed
