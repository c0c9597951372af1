"""`/catalog/clusters`: the union record with its members and holders; staff link and split decisions."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bibliomesh_catalog.adapters.cluster_repository import ClusterRepository
from bibliomesh_catalog.domain.display import ClusterDisplay
from bibliomesh_catalog.entrypoints.api.routes.records import NOT_IN_DIRECTORY, WRITE_SCOPE
from bibliomesh_catalog.service_layer.holdings import summarize
from bibliomesh_catalog.service_layer.overrides import RecordRef, decide
from meshkit.problems import NotFound
from meshkit.security import Principal
from meshkit.web import RowId, UnitOfWorkDep, require_scope

router = APIRouter(prefix="/catalog", tags=["clusters"])


class Member(BaseModel):
    record_id: int
    institution: str
    local_id: str
    joined_by: str | None = Field(description="The key that joined it (`isbn:...`, `title:...`, `override`); "
                                              "null for a record alone in its cluster.")
    title: str
    year: int | None
    format: str


class Item(BaseModel):
    item_id: str
    local_id: str = Field(description="The record the item belongs to.")
    location: str | None
    call_number: str | None
    format: str
    status: str
    due_date: date | None
    ill_copy_allowed: bool
    available: bool = Field(description="On the shelf, or electronic with a licence for interlibrary copies, at an "
                                        "institution that is not suspended (as search counts it).")


class Holder(BaseModel):
    """An institution holding items of the cluster. A library whose member record states no items is listed under
    `members` only: it holds nothing that can be requested (as in search and the OAI-PMH sets)."""

    institution: str
    name_en: str | None
    name_zh: str | None
    suspended: bool = Field(default=False, description="The institution is suspended: it neither lends nor "
                                                       "borrows now; its items stay listed, none available.")
    available_count: int
    items: list[Item]


class OtherFormat(BaseModel):
    cluster_id: int
    format: str
    title: str


class ClusterView(BaseModel):
    """A cluster: the merged display, the members and the key that joined each, holdings per institution with
    live availability, and the clusters of the same work in other formats."""

    id: int
    format: str
    work_id: int | None
    version: int
    updated_at: datetime
    display: ClusterDisplay
    alt_titles: list[str] = Field(description="Titles in other scripts (e.g. the Chinese of a romanized title).")
    members: list[Member]
    holdings: list[Holder] = Field(description="The institutions holding items of it, with those items.")
    other_formats: list[OtherFormat]


@router.get("/clusters/{cluster_id}", response_model=ClusterView,
            summary="One union record with its members, holders and availability (public: anyone, no token).",
            responses={404: {"description": "No such cluster (or it was merged away: see cluster events)."}})
async def get_cluster(cluster_id: RowId, uow: UnitOfWorkDep) -> ClusterView:
    """The cluster as patrons and staff see it."""
    view = await ClusterRepository(uow.session).view(cluster_id)
    if view is None:
        raise NotFound(f"no cluster {cluster_id}")
    cluster = view["cluster"]
    members = view["members"]
    return ClusterView(
        id=cluster.id, format=cluster.format, work_id=cluster.work_id, version=cluster.version,
        updated_at=cluster.updated_at, display=ClusterDisplay.model_validate({"format": cluster.format,
                                                                              **cluster.display}),
        alt_titles=cluster.display.get("alt_titles") or [],
        members=[Member(record_id=m.id, institution=m.institution, local_id=m.local_id, joined_by=m.match_key,
                        title=m.title, year=m.year, format=m.format) for m in members],
        holdings=[Holder.model_validate(h) for h in summarize(view["items"], view["holders"])],
        other_formats=[OtherFormat(cluster_id=o.id, format=o.format, title=(o.display or {}).get("title", ""))
                       for o in view["other_formats"]],
    )


class RecordRefIn(BaseModel):
    institution: str = Field(max_length=64)
    local_id: str = Field(max_length=200)


class PairDecision(BaseModel):
    """Two member records and why staff decided about them."""

    a: RecordRefIn
    b: RecordRefIn
    reason: str | None = Field(default=None, max_length=2000, description="Shown to other staff.")


class PairOutcome(BaseModel):
    a_cluster_id: int | None
    b_cluster_id: int | None


_WHO = ("Who: `catalog:write` and role staff or institution-admin, for a pair with at least one record of the "
        "caller's institution; platform admins for any pair.")


@router.post("/clusters/link", response_model=PairOutcome,
             summary=f"Force two records into one cluster; survives re-ingest. {_WHO}", responses=NOT_IN_DIRECTORY)
async def link(decision: PairDecision, uow: UnitOfWorkDep,
               caller: Principal = require_scope(WRITE_SCOPE)) -> PairOutcome:
    """Link the pair (see `service_layer.overrides` for who may)."""
    return await _decide(uow, caller, decision, "link")


@router.post("/clusters/split", response_model=PairOutcome,
             summary=f"Keep two records in different clusters; survives re-ingest. {_WHO}",
             responses=NOT_IN_DIRECTORY)
async def split(decision: PairDecision, uow: UnitOfWorkDep,
                caller: Principal = require_scope(WRITE_SCOPE)) -> PairOutcome:
    """Split the pair (see `service_layer.overrides` for who may)."""
    return await _decide(uow, caller, decision, "split")


async def _decide(uow: UnitOfWorkDep, caller: Principal, decision: PairDecision, kind: str) -> PairOutcome:
    outcome = await decide(uow, caller, RecordRef(decision.a.institution, decision.a.local_id),
                           RecordRef(decision.b.institution, decision.b.local_id),
                           "link" if kind == "link" else "split", decision.reason)
    await uow.commit()
    return PairOutcome(a_cluster_id=outcome["a"], b_cluster_id=outcome["b"])
