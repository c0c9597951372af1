"""`/ill/partners`: the lenders the caller's institution can reach, by sharing tier."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.domain.tiers import tier_between
from meshkit.problems import NotFound
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, require_scope

router = APIRouter(prefix="/ill", tags=["routing"])


class Partner(BaseModel):
    code: str
    tier: str


@router.get("/partners", summary="Lenders reachable from an institution, nearest tier first "
                                 "(`ill:manage`; staff for their own institution, platform admins for any).")
async def partners(uow: UnitOfWorkDep, caller: Principal = require_scope("ill:manage"),
                   institution: str | None = None) -> list[Partner]:
    code = institution or caller.institution
    caller.require_institution(code)
    known = await MemberRepository(uow.session).all()
    borrower = next((m for m in known if m.code == code), None)
    if borrower is None:
        raise NotFound(f"the broker does not know {code} yet")
    reachable = [(tier, m.code) for m in known if (tier := tier_between(borrower, m)) is not None]
    return [Partner(code=code, tier=tier.name.lower()) for tier, code in sorted(reachable)]
