"""`/ill/stats` and `/ill/acquisition-suggestions`: what the region learns from its requests.

Who may call: staff with `ill:manage` for their own institution; platform admins for any institution or, with
no institution given, for the whole platform.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from bibliomesh_ill.adapters.suggestion_repository import SuggestionRepository
from bibliomesh_ill.service_layer.stats import statistics
from meshkit.problems import InvalidField
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, require_scope

router = APIRouter(prefix="/ill", tags=["statistics"])
DEFAULT_WINDOW = timedelta(days=90)
EARLIEST = datetime.min.replace(tzinfo=UTC)


def _scope_of(caller: Principal, institution: str | None) -> str | None:
    """The institution the answer is about (None: the whole platform, for platform admins only)."""
    if institution is None:
        return None if caller.is_platform_admin else caller.institution
    caller.require_institution(institution)
    return institution


@router.get("/stats", summary="Requests, fill rate, turnaround, lending/borrowing balance and reasons for "
                              "unfilled, by period, tier and institution (`ill:manage`).")
async def stats(uow: UnitOfWorkDep, caller: Principal = require_scope("ill:manage"),
                institution: Annotated[str | None, Query(max_length=64)] = None,
                start: Annotated[datetime | None, Query(alias="from", description="Default: 90 days ago.")] = None,
                end: Annotated[datetime | None, Query(alias="to", description="Default: now.")] = None,
                period: Annotated[Literal["day", "week", "month"], Query()] = "month") -> dict[str, Any]:
    start, end = _window(start, end)
    return await statistics(uow.session, start, end, _scope_of(caller, institution), period)


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[from, to) in UTC; by default the 90 days before `to`, or as many of them as the calendar has."""
    end = datetime.now(UTC) if end is None else _utc(end, "to")
    if start is None:
        return max(end, EARLIEST + DEFAULT_WINDOW) - DEFAULT_WINDOW, end
    start = _utc(start, "from")
    if start >= end:
        raise InvalidField("from", "must be before `to`")
    return start, end


def _utc(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidField(field, "is outside the years 1 to 9999 in UTC") from exc


class Suggestion(BaseModel):
    institution: str
    item_key: str = Field(description="`cluster:<id>`, `isbn:<isbn13>`, ... : what was requested.")
    title: str
    request_count: int
    request_ids: list[str] = Field(description="The requests that are the evidence.")
    suggested_at: datetime


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: StrictInt = Field(ge=2, le=1000, description="Requests for one item that make a suggestion.")
    window_days: StrictInt = Field(ge=1, le=3650, description="Window the requests are counted in.")


@router.get("/acquisition-suggestions", response_model=list[Suggestion],
            summary="Items this institution's patrons keep requesting through ILL: purchase suggestions with the "
                    "evidence (`ill:manage`).")
async def suggestions(uow: UnitOfWorkDep, caller: Principal = require_scope("ill:manage"),
                      institution: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    return await SuggestionRepository(uow.session).listing(_scope_of(caller, institution))


@router.put("/acquisition-suggestions/threshold/{institution}", response_model=Threshold,
            summary="Set an institution's suggestion threshold (`ill:manage`, own institution).")
async def set_threshold(institution: str, body: Threshold, uow: UnitOfWorkDep,
                        caller: Principal = require_scope("ill:manage")) -> Threshold:
    caller.require_institution(institution)
    await SuggestionRepository(uow.session).set_threshold(institution, body.threshold, body.window_days)
    await uow.commit()
    return body
