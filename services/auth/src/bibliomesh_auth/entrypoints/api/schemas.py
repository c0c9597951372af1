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

# A region or a pickup location: a blank one put a library in no region (the broker's "open" tier).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("must not name the same one twice")
    return values


class LendingPolicyIn(LendingPolicy):
    """A lending policy as sent: its closed periods must not end before they start (the event contract stays lenient,
    so copies stored before this check still read)."""

    @field_validator("closed_periods")
    @classmethod
    def _periods_in_order(cls, periods: list[ClosedPeriod]) -> list[ClosedPeriod]:
        for number, period in enumerate(periods):
            if period.end < period.start:
                raise ValueError(f"closed period {number} ends ({period.end}) before it starts ({period.start})")
        return periods


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
    iso18626: Iso18626Peer | None = None

    _distinct = field_validator("regions", "pickup_locations")(distinct)


class InstitutionPatch(BaseModel):
    """Only the fields present change; `name_zh`, `parent_code`, `ill_email` and `iso18626` may be null to clear
    them, the others may not."""

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
    policy: LendingPolicyIn | None = None
    iso18626: Iso18626Peer | None = None

    _distinct = field_validator("regions", "pickup_locations")(distinct)

    # Defaults are not validated, so this sees only a null that was sent: an omitted field still means unchanged.
    @field_validator("name_en", "kind", "regions", "open_sharing", "pickup_locations", "language", "policy")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be omitted to keep it, but not null")
        return value


class SuspendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)
