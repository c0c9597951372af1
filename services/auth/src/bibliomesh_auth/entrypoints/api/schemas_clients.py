"""Request and response bodies of `/auth/clients`, `/auth/audit` and peer credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from bibliomesh_auth.adapters.audit_repository import AuditEvent
from bibliomesh_auth.adapters.client_repository import Client
from bibliomesh_auth.domain.client_ids import CLIENT_ID_PATTERN
from bibliomesh_auth.entrypoints.api.schemas import not_null
from bibliomesh_contracts.events.directory import InstitutionSnapshot

ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID_PATTERN)]
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z]+(:[a-z]+)?$", max_length=50)]
GrantType = Literal["client_credentials", "authorization_code", "refresh_token", "password"]
RedirectUri = Annotated[str, StringConstraints(min_length=8, max_length=500)]


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the client is, e.g. `Koha at LHU`.")
    institution: str | None = Field(default=None, max_length=64,
                                    description="The institution it acts for; default: the caller's.")
    scopes: list[Scope] = Field(default_factory=list, max_length=20,
                                description="At most what the institution's staff may hold; `directory:admin` only "
                                "from a platform admin. Public clients default to every scope (narrowed per person).")
    client_id: ClientId | None = Field(default=None, description="Chosen id; default: generated. An institution "
                                       "admin's start with the institution's code in lower case and `-` "
                                       "(`cn-dl-lhu-koha` for CN-DL-LHU); none may look like another "
                                       "institution's or, case, separators and look-alike characters aside, like "
                                       "an existing client's.")
    is_public: bool = Field(default=False, description="A browser app without a secret, using PKCE "
                            "(platform admin only).")
    redirect_uris: list[RedirectUri] = Field(default_factory=list, max_length=10,
                                             description="Exact redirect URIs (public clients).")
    grant_types: list[GrantType] | None = Field(
        default=None, min_length=1, max_length=4, description="Default (when left out): client_credentials "
        "(confidential) or "
        "authorization_code + refresh_token (public). `password` only from a platform admin.")


def _left_out_is_unchanged(schema: dict[str, Any]) -> None:
    """Document the fields as what they accept: a value, or nothing at all (null is refused)."""
    for field in schema["properties"].values():
        field.pop("default", None)
        for branch in field.pop("anyOf", []):
            if branch != {"type": "null"}:
                field.update(branch)


class ClientPatch(BaseModel):
    """A JSON merge patch: only the fields present change, by the rules of registration. What the client already
    holds may stay even where the caller could not have given it; `null` is refused (nothing here can be removed)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_left_out_is_unchanged)

    name: str | None = Field(default=None, min_length=1, max_length=200, description="What the client is.")
    scopes: list[Scope] | None = Field(default=None, min_length=1, max_length=20, description="The whole new list. "
                                       "People's sessions lose removed scopes at their next refresh at the latest.")
    redirect_uris: list[RedirectUri] | None = Field(default=None, max_length=10, description="The whole new list "
                                                    "of exact redirect URIs (public clients only; 422 for a "
                                                    "confidential client).")
    grant_types: list[GrantType] | None = Field(default=None, min_length=1, max_length=4, description="The whole "
                                                "new list; `password` only from a platform admin. Removing "
                                                "`refresh_token` revokes the client's refresh tokens.")

    _not_null = field_validator("name", "scopes", "redirect_uris", "grant_types", mode="before")(not_null)


class ClientView(BaseModel):
    client_id: str
    name: str
    institution: str
    scopes: list[str]
    roles: list[str]
    grant_types: list[str]
    redirect_uris: list[str]
    is_public: bool
    disabled: bool
    created_at: datetime | None
    created_by: str | None

    @classmethod
    def of(cls, client: Client) -> ClientView:
        """The public view of a client: never its secret or secret hash."""
        return cls(client_id=client.client_id, name=client.name, institution=client.institution,
                   scopes=sorted(client.scopes), roles=sorted(client.roles), grant_types=sorted(client.grant_types),
                   redirect_uris=list(client.redirect_uris), is_public=client.is_public, disabled=client.disabled,
                   created_at=client.created_at, created_by=client.created_by)


class ClientWithSecret(ClientView):
    client_secret: str | None = Field(description="Shown only in this response: store it now. Null for public "
                                      "clients.")


class PeerCredentials(BaseModel):
    institution: InstitutionSnapshot
    secret: str = Field(description="The shared secret the peer's inbound ISO 18626 messages must carry; shown "
                        "only in this response.")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    action: str
    outcome: str
    actor: str | None
    institution: str | None
    target: str | None
    ip: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEntry:
        """The wire form of one audit event."""
        return cls(id=event.id, at=event.at, action=event.action, outcome=event.outcome, actor=event.actor,
                   institution=event.institution, target=event.target, ip=event.ip, detail=event.detail)


class AuditPage(BaseModel):
    items: list[AuditEntry]
    limit: int
    offset: int
    next_offset: int | None
