"""`/auth/institutions/{code}/identity-provider`: where an institution's people sign in. Auth-internal (no event)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from bibliomesh_auth.adapters.identity_provider_repository import IdentityProvider
from bibliomesh_auth.entrypoints.api.callers import Administrator
from bibliomesh_auth.entrypoints.api.deps import SecretBoxDep, SettingsDep, client_ip
from bibliomesh_auth.entrypoints.api.routes.signin import FederationDep
from bibliomesh_auth.federation.mapping import ClaimNames, RoleRules
from bibliomesh_auth.service_layer import signin_providers
from bibliomesh_auth.service_layer.signin_federated import callback_url
from bibliomesh_auth.settings import AuthSettings
from meshkit.web import UnitOfWorkDep

router = APIRouter(prefix="/auth/institutions", tags=["identity providers"])
GrantableRole = Literal["patron", "staff", "institution-admin"]
AffiliationScope = Annotated[str, StringConstraints(
    min_length=1, max_length=253, to_lower=True, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                                                         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")]
"""A domain name, as eduPersonScopedAffiliation scopes are."""
WHO = "Platform admin (`directory:admin`) or an `institution-admin` of that institution (`accounts:manage`)."


class ClaimNamesBody(BaseModel):
    """Which claim of the provider carries each piece of the account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(default="preferred_username", min_length=1, max_length=200)
    email: str = Field(default="email", min_length=1, max_length=200)
    name: str = Field(default="name", min_length=1, max_length=200)
    affiliation: str = Field(default="eduPersonAffiliation", min_length=1, max_length=200,
                             description="A list or space-separated values such as `student`, `faculty`, `staff`.")


class IdentityProviderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: Literal["oidc"] = Field(default="oidc", description="`oidc` (OpenID Connect); SAML 2.0 is planned.")
    issuer: str = Field(min_length=1, max_length=500,
                        description="The provider's issuer identifier, exactly as its discovery document states it; "
                                    "https (http only outside production).")
    client_id: str = Field(min_length=1, max_length=300, description="Our client id at the provider.")
    client_secret: SecretStr | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Our client secret there (client_secret_basic). Required the first time; omit to keep the "
                    "stored one. Stored encrypted, never returned.")
    scopes: str = Field(default="openid profile email", max_length=300, description="Must include `openid`.")
    claims: ClaimNamesBody = Field(default_factory=ClaimNamesBody)
    role_rules: dict[str, list[GrantableRole]] = Field(
        default_factory=dict, description='Affiliation → roles, e.g. `{"student": ["patron"], "staff": '
                                          '["patron", "staff"]}`; a person gets the union over their affiliations.')
    default_roles: list[GrantableRole] = Field(
        default_factory=list, description="Roles when no rule matches; empty: such people are refused.")
    affiliation_scopes: list[AffiliationScope] = Field(
        default_factory=list, max_length=50,
        description="The institution's scopes (domains, e.g. `uni.example`). When given, a scoped affiliation "
                    "(`staff@uni.example`) counts only with one of them: for a provider that serves several "
                    "institutions. Empty: scopes are not checked (unscoped values always count).")
    enabled: bool = Field(default=True, description="Enabled providers are checked (discovery) when saved.")


class IdentityProviderView(BaseModel):
    institution: str
    protocol: str
    issuer: str
    client_id: str
    client_secret_set: bool = Field(description="Whether a client secret is stored (it is never shown).")
    scopes: str
    claims: ClaimNamesBody
    role_rules: dict[str, list[str]]
    default_roles: list[str]
    affiliation_scopes: list[str]
    enabled: bool
    updated_at: datetime
    redirect_uri: str = Field(description="Register this as the redirect URI of our client at the provider.")


def _view(provider: IdentityProvider, settings: AuthSettings) -> IdentityProviderView:
    rules = provider.role_rules
    return IdentityProviderView(
        institution=provider.institution, protocol=provider.protocol, issuer=provider.issuer,
        client_id=provider.client_id, client_secret_set=bool(provider.sealed_client_secret), scopes=provider.scopes,
        claims=ClaimNamesBody(**provider.claim_names.as_dict()),
        role_rules={name: sorted(roles) for name, roles in sorted(rules.by_affiliation.items())},
        default_roles=sorted(rules.default_roles), affiliation_scopes=sorted(rules.affiliation_scopes),
        enabled=provider.enabled, updated_at=provider.updated_at,
        redirect_uri=callback_url(settings))


@router.put("/{code}/identity-provider", summary=f"Set the institution's identity provider. {WHO}")
async def put_identity_provider(code: str, body: IdentityProviderBody, request: Request, uow: UnitOfWorkDep,
                                caller: Administrator, settings: SettingsDep, box: SecretBoxDep,
                                federation: FederationDep) -> IdentityProviderView:
    change = signin_providers.ProviderChange(
        protocol=body.protocol, issuer=body.issuer, client_id=body.client_id,
        client_secret=body.client_secret.get_secret_value() if body.client_secret else None, scopes=body.scopes,
        claim_names=ClaimNames(**body.claims.model_dump()),
        role_rules=RoleRules.of(body.role_rules, body.default_roles, body.affiliation_scopes), enabled=body.enabled)
    provider = await signin_providers.configure_provider(uow, caller, code, change, box=box, federation=federation,
                                                         settings=settings, ip=client_ip(request))
    await uow.commit()
    return _view(provider, settings)


@router.get("/{code}/identity-provider", summary=f"The institution's identity provider, without its secret. {WHO}")
async def get_identity_provider(code: str, uow: UnitOfWorkDep, caller: Administrator, settings: SettingsDep
                                ) -> IdentityProviderView:
    return _view(await signin_providers.provider_of(uow, caller, code), settings)


@router.delete("/{code}/identity-provider", status_code=status.HTTP_204_NO_CONTENT,
               summary=f"Remove the identity provider: its people then sign in with local accounts. {WHO}")
async def delete_identity_provider(code: str, request: Request, uow: UnitOfWorkDep, caller: Administrator,
                                   federation: FederationDep) -> None:
    await signin_providers.remove_provider(uow, caller, code, federation=federation, ip=client_ip(request))
    await uow.commit()
