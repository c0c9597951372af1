"""`/ill/holdings`: the broker's own view of who holds a cluster (what routing will use)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from meshkit.security import Principal
from meshkit.web import RowId, UnitOfWorkDep, require_scope

router = APIRouter(prefix="/ill", tags=["routing"])


@router.get("/holdings/{cluster_id}", summary="Items of a union-catalogue cluster as the broker knows them "
                                               "(staff with `ill:manage`, any institution: holdings are shared).")
async def cluster_holdings(cluster_id: RowId, uow: UnitOfWorkDep,
                           _caller: Principal = require_scope("ill:manage")) -> list[dict[str, Any]]:
    return await HoldingRepository(uow.session).for_cluster(cluster_id)
