"""`/catalog/holders`: the institutions whose holdings the catalogue shows (public, like search)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bibliomesh_catalog.adapters.holder_repository import HolderRepository
from meshkit.web import UnitOfWorkDep

router = APIRouter(prefix="/catalog", tags=["holders"])


@router.get("/holders", summary="Institutions known to the catalogue, with their regions (public).")
async def list_holders(uow: UnitOfWorkDep) -> list[dict[str, Any]]:
    return await HolderRepository(uow.session).list()
