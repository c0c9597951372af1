"""`/notify/contacts/{code}`: where notify sends a library's ILL mail (its own staff, or a platform admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bibliomesh_notify.service_layer.institutions import known_institution
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, require_scope

router = APIRouter(prefix="/notify", tags=["contacts"])


@router.get("/contacts/{code}", summary="A library's ILL mailbox and language as notify knows them "
                                        "(`notify:manage`, own institution or platform admin).")
async def contact(code: str, uow: UnitOfWorkDep, caller: Principal = require_scope("notify:manage")
                  ) -> dict[str, Any]:
    caller.require_institution(code)
    return await known_institution(uow, code)
