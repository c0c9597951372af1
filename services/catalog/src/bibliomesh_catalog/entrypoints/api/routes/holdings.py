"""`/catalog/holdings`: circulation systems keep item availability fresh without resending records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from bibliomesh_catalog.entrypoints.api.routes.records import NOT_IN_DIRECTORY, WRITE_SCOPE
from bibliomesh_catalog.service_layer.holdings import update_holding
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, require_scope

router = APIRouter(prefix="/catalog", tags=["holdings"])
Status = Literal["available", "on-loan", "missing", "not-for-loan", "in-process"]


class HoldingUpdate(BaseModel):
    """The new circulation state of an item."""

    model_config = ConfigDict(extra="forbid")

    status: Status = Field(description="Circulation status.")
    due_date: date | None = Field(default=None, description="Required for `on-loan`, absent otherwise.")


class HoldingOut(BaseModel):
    """An item as the catalogue now holds it."""

    institution: str
    item_id: str
    status: Status
    due_date: date | None
    location: str | None
    call_number: str | None
    format: Literal["print", "electronic"]
    ill_copy_allowed: bool
    version: int = Field(description="Grows with every change; events carry it.")


@router.put(
    "/holdings/{institution}/{item_id:path}", response_model=HoldingOut,
    summary="Change an item's status (and due date). Who: a token with `catalog:write` for the holding "
            "institution (or a platform admin).",
    responses={404: {"description": "The institution has no such item."}, **NOT_IN_DIRECTORY},
)
async def put_holding(institution: str, item_id: str, update: HoldingUpdate, uow: UnitOfWorkDep,
                      caller: Principal = require_scope(WRITE_SCOPE)) -> HoldingOut:
    """Store the new status; an actual change is published as `catalog.holdings.changed`."""
    values = await update_holding(uow, caller, institution, item_id, update.status, update.due_date,
                                  datetime.now(UTC))
    await uow.commit()
    return HoldingOut.model_validate(values)
