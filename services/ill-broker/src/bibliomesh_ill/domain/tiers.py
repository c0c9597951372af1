"""Sharing tiers: a branch of the patron's own university first, then the region, then open sharing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from typing import Any


class Tier(IntEnum):
    UNIVERSITY = 1
    REGION = 2
    OPEN = 3

    @property
    def label(self) -> str:
        return {Tier.UNIVERSITY: "university", Tier.REGION: "region", Tier.OPEN: "open"}[self]


@dataclass(frozen=True)
class Member:
    code: str
    kind: str
    parent_code: str | None
    regions: frozenset[str]
    open_sharing: bool
    active: bool
    policy: dict[str, Any] = field(default_factory=dict, compare=False)
    iso18626: dict[str, Any] | None = field(default=None, compare=False)
    pickup_locations: tuple[str, ...] = ()

    @property
    def university(self) -> str | None:
        if self.kind == "branch-library":
            return self.parent_code
        return self.code if self.kind == "university" else None

    @property
    def external(self) -> bool:
        """Outside the platform: reached by ISO 18626 messages rather than by staff in this broker."""
        return self.iso18626 is not None

    def closed_on(self, day: date) -> dict[str, Any] | None:
        """The closed period covering `day`, if any."""
        for period in self.policy.get("closed_periods", []):
            if date.fromisoformat(period["start"]) <= day <= date.fromisoformat(period["end"]):
                return dict(period)
        return None


def tier_between(borrower: Member, lender: Member) -> Tier | None:
    """How close `lender` is to `borrower`; None when they do not share at all."""
    if borrower.code == lender.code or not lender.active:
        return None
    if borrower.university is not None and borrower.university == lender.university:
        return Tier.UNIVERSITY
    if borrower.regions & lender.regions:
        return Tier.REGION
    if borrower.open_sharing and lender.open_sharing:
        return Tier.OPEN
    return None
