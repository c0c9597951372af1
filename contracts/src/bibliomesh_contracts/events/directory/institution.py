"""Directory events: the full institution is carried in each, so consumers keep a local copy without calling back."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# What an institution code looks like; auth registers no other, so another shape names no institution anywhere: two
# capital letters, a hyphen, up to 60 letters, digits, colons or hyphens (ISIL style), or the operator's PLATFORM.
INSTITUTION_CODE_PATTERN = r"^[A-Z]{2}-[A-Za-z0-9:\-]{1,60}$|^PLATFORM$"

InstitutionKind = Literal["university", "branch-library", "public-library", "research-library", "external-peer"]


class ClosedPeriod(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: date = Field(description="First closed day.")
    end: date = Field(description="Last closed day (inclusive).")
    reason: str | None = Field(default=None, description="Why, shown to staff.")


class LendingPolicy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lends_loans: bool = Field(default=True, description="Lends returnable items.")
    lends_copies: bool = Field(default=True, description="Supplies copies of print material.")
    lends_electronic_copies: bool = Field(default=False, description="Supplies copies from licensed e-resources.")
    loan_period_days: int = Field(default=28, ge=1, le=365, description="Default loan period to other libraries.")
    # Upper bounds keep a typo from reaching the broker's date arithmetic (a deadline a trillion hours away does not
    # fit a datetime) and from stalling its routing for good.
    max_active_loans: int = Field(default=100, ge=0, le=1_000_000, description="Most items lent out to others at once.")
    answer_within_hours: int = Field(
        default=48, ge=1, le=8_760, description="Time to answer a request before the broker moves on (at most a year)."
    )
    closed_periods: list[ClosedPeriod] = Field(
        default_factory=list, description="Periods it neither lends nor answers."
    )


class Iso18626Peer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    endpoint_url: str = Field(description="Where ISO 18626 messages for this agency are posted.")
    schema_version: Literal["1.2", "2021"] = Field(description="ISO 18626 edition the peer speaks.")
    agency_id_type: str = Field(default="ISIL", description="Agency id type used in its messages.")
    credential_hash: str | None = Field(
        default=None,
        description="argon2id hash of the shared secret the peer's inbound ISO 18626 messages must carry; "
        "the broker verifies them against its own directory copy. Null until credentials are issued.",
    )


class InstitutionSnapshot(BaseModel):
    """The institution as the directory holds it after the change."""

    model_config = ConfigDict(extra="ignore")

    code: str = Field(description="Stable ISIL-style code, e.g. `CN-DL-UNI1`.")
    name_en: str = Field(description="Name in English.")
    name_zh: str | None = Field(default=None, description="Name in Simplified Chinese.")
    kind: InstitutionKind = Field(description="What sort of library it is.")
    parent_code: str | None = Field(default=None, description="The university a branch library belongs to.")
    regions: list[str] = Field(default_factory=list, description="Regional consortia it belongs to.")
    open_sharing: bool = Field(default=True, description="Takes part in open sharing beyond its region.")
    pickup_locations: list[str] = Field(default_factory=list, description="Where its patrons may collect items.")
    ill_email: str | None = Field(default=None, description="The ILL office mailbox.")
    language: Literal["en", "zh"] = Field(default="en", description="Language of messages to its staff.")
    status: Literal["active", "suspended"] = Field(
        default="active", description="Suspended ones neither lend nor borrow."
    )
    policy: LendingPolicy = Field(default_factory=LendingPolicy, description="How it lends to others.")
    iso18626: Iso18626Peer | None = Field(
        default=None, description="Set for institutions outside the platform reached by ISO 18626."
    )
    version: int = Field(ge=1, description="Directory version of this institution; grows with each change.")


class InstitutionCreatedV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    institution: InstitutionSnapshot


class InstitutionUpdatedV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    institution: InstitutionSnapshot
    changed_fields: list[str] = Field(description="Top-level fields that changed.")


class InstitutionSuspendedV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    institution: InstitutionSnapshot
    reason: str | None = Field(default=None, description="Why it was suspended.")
