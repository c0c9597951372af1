"""Sharing tiers: a branch of the patron's own university first, then the region, then open sharing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Tier(IntEnum):
    UNIVERSITY = 1
    REGION = 2
    OPEN = 3


@dataclass(frozen=True)
class Member:
    code: str
    kind: str
    parent_code: str | None
    regions: frozenset[str]
    open_sharing: bool
    active: bool

    @property
    def university(self) -> str | None:
        if self.kind == "branch-library":
            return self.parent_code
        return self.code if self.kind == "university" else None


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
