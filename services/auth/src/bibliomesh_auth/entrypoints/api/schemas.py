"""Request bodies of the auth API; responses reuse the contract models so the two cannot drift."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from bibliomesh_contracts.events.directory.institution import (
    ClosedPeriod,
    InstitutionKind,
    Iso18626Peer,
    LendingPolicy,
)
from meshkit.outbound_urls import url_problem

# A region or a pickup location: a blank one put a library in no region (the broker's "open" tier).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("must not name the same one twice")
    return values


def not_null(value: object) -> object:
    """For merge patches (RFC 7396): a field left out keeps its value, and a null would mean removing it, which
    these fields cannot be. Defaults are not validated, so this sees only a null that was sent."""
    if value is None:
        raise ValueError("may be omitted to keep it, but not null")
    return value


def peer_endpoint(url: str | None) -> str | None:
    """A URL the broker can post ISO 18626 messages to: http(s), a host, no credentials in it. Whether its address
    is public is the broker's NetworkPolicy's business (a peer may sit on a partner's private link)."""
    problem = url_problem(url, allow_private=True) if url is not None else None
    if problem is not None:
        raise ValueError(f"must be a URL the broker can post to: it {problem}")
    return url


def periods_in_order(periods: list[ClosedPeriod] | None) -> list[ClosedPeriod] | None:
    for number, period in enumerate(periods or []):
        if period.end < period.start:
            raise ValueError(f"closed period {number} ends ({period.end}) before it starts ({period.start})")
    return periods


class LendingPolicyIn(LendingPolicy):
    """A lending policy as sent: its closed periods must not end before they start (the event contract stays lenient,
    so copies stored before this check still read), and a misspelt field is refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")

    _periods_in_order = field_validator("closed_periods")(periods_in_order)


_POLICY = LendingPolicy.model_fields
_PEER = Iso18626Peer.model_fields


class LendingPolicyPatch(BaseModel):
    """A merge patch of the lending policy (RFC 7396): only the fields present change, the others keep their value;
    `closed_periods` is the whole new list. None of them may be null."""

    model_config = ConfigDict(extra="forbid")

    lends_loans: bool | None = Field(default=None, description=_POLICY["lends_loans"].description)
    lends_copies: bool | None = Field(default=None, description=_POLICY["lends_copies"].description)
    lends_electronic_copies: bool | None = Field(default=None,
                                                 description=_POLICY["lends_electronic_copies"].description)
    loan_period_days: int | None = Field(default=None, ge=1, le=365,
                                         description=_POLICY["loan_period_days"].description)
    max_active_loans: int | None = Field(default=None, ge=0, le=1_000_000,
                                         description=_POLICY["max_active_loans"].description)
    answer_within_hours: int | None = Field(default=None, ge=1, le=8_760,
                                            description=_POLICY["answer_within_hours"].description)
    closed_periods: list[ClosedPeriod] | None = Field(default=None, description=_POLICY["closed_periods"].description)

    _periods_in_order = field_validator("closed_periods")(periods_in_order)

    _not_null = field_validator("*")(not_null)


class Iso18626PeerIn(Iso18626Peer):
    """ISO 18626 peer settings as sent: a misspelt field is refused rather than ignored; `credential_hash` is
    ignored (credentials are issued only by `POST /auth/institutions/{code}/peer-credentials`)."""

    model_config = ConfigDict(extra="forbid")

    _endpoint = field_validator("endpoint_url")(peer_endpoint)


class Iso18626PeerPatch(BaseModel):
    """A merge patch of the ISO 18626 peer settings (RFC 7396): only the fields present change, the others keep
    their value; settings given for the first time need `endpoint_url` and `schema_version`. None may be null."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = Field(default=None, description=_PEER["endpoint_url"].description)
    schema_version: Literal["1.2", "2021"] | None = Field(default=None,
                                                          description=_PEER["schema_version"].description)
    agency_id_type: str | None = Field(default=None, description=_PEER["agency_id_type"].description)
    # Accepted so that a settings object read back can be sent again; ignored like at registration.
    credential_hash: str | None = Field(default=None, description="Ignored: issued only by peer-credentials.")

    _not_null = field_validator("endpoint_url", "schema_version", "agency_id_type")(not_null)
    _endpoint = field_validator("endpoint_url")(peer_endpoint)


class InstitutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}-[A-Za-z0-9:\-]{1,60}$",
                      description="ISIL-style code, e.g. `CN-DL-UNI1` (no `/`: a code is a segment of every path "
                                  "that names the institution).")
    name_en: str = Field(min_length=1, max_length=300)
    name_zh: str | None = Field(default=None, max_length=300)
    kind: InstitutionKind
    parent_code: str | None = None
    regions: list[Name] = Field(default_factory=list, max_length=50)
    open_sharing: bool = True
    pickup_locations: list[Name] = Field(default_factory=list, max_length=100)
    ill_email: EmailStr | None = None
    language: Literal["en", "zh"] = "en"
    policy: LendingPolicyIn = Field(default_factory=LendingPolicyIn)
    iso18626: Iso18626PeerIn | None = None

    _distinct = field_validator("regions", "pickup_locations")(distinct)


class InstitutionPatch(BaseModel):
    """A merge patch (RFC 7396): only the fields present change, in `policy` and `iso18626` too; `name_zh`,
    `parent_code`, `ill_email` and `iso18626` may be null to clear them, the others may not."""

    model_config = ConfigDict(extra="forbid")

    name_en: str | None = Field(default=None, min_length=1, max_length=300)
    name_zh: str | None = Field(default=None, max_length=300)
    kind: InstitutionKind | None = None
    parent_code: str | None = None
    regions: list[Name] | None = Field(default=None, max_length=50)
    open_sharing: bool | None = None
    pickup_locations: list[Name] | None = Field(default=None, max_length=100)
    ill_email: EmailStr | None = None
    language: Literal["en", "zh"] | None = None
    policy: LendingPolicyPatch | None = Field(
        default=None, description="Merged into the current policy: only the policy fields present change.")
    iso18626: Iso18626PeerPatch | None = Field(
        default=None, description="Merged into the current ISO 18626 settings: only the fields present change; "
        "null removes them.")

    _distinct = field_validator("regions", "pickup_locations")(distinct)

    _not_null = field_validator("name_en", "kind", "regions", "open_sharing", "pickup_locations", "language",
                                "policy")(not_null)


class SuspendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)
