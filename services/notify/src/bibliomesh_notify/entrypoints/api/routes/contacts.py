"""`/notify/contacts/{code}`: where notify sends a library's ILL mail (its own staff, or a platform admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bibliomesh_notify.adapters.contact_repository import ContactRepository
from meshkit.problems import NotFound
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, require_scope

router = APIRouter(prefix="/notify", tags=["contacts"])


@router.get("/contacts/{code}", summary="A library's ILL mailbox and language as notify knows them "
                                        "(`notify:manage`, own institution or platform admin).")
async def contact(code: str, uow: UnitOfWorkDep, caller: Principal = require_scope("notify:manage")
                  ) -> dict[str, Any]:
    caller.require_institution(code)
    found = await ContactRepository(uow.session).get(code)
    if found is None:
        raise NotFound(f"notify does not know {code} yet")
    return found
