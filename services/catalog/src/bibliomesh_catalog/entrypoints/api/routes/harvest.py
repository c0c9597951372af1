"""`/catalog/harvest-sources`: an institution's OAI-PMH endpoint, harvested incrementally into the catalogue.

The harvester asks for the source's best format (MARCXML, else Dublin Core), from the datestamp the last harvest
reached, follows resumption tokens and applies deleted records; each record's local id is its OAI identifier.
Harvests run on the source's schedule and on request (`POST .../runs`), one at a time per source across replicas.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bibliomesh_catalog.entrypoints.api.routes.records import NOT_IN_DIRECTORY, WRITE_SCOPE
from bibliomesh_catalog.entrypoints.background import wake
from bibliomesh_catalog.service_layer import harvest_sources as service
from bibliomesh_catalog.service_layer.source_addresses import private_sources_allowed
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, get_runtime, require_scope

router = APIRouter(prefix="/catalog", tags=["harvesting"])
Institution = Annotated[str, Path(max_length=64, description="The institution whose records are harvested.")]
_OAI_NAME = r"^[A-Za-z0-9\-_.!~*'()]+$"
_WHO = ("Who: library staff (`staff` or `institution-admin`) of the institution with `catalog:write`, or a "
        "platform admin.")


class HarvestSourceConfig(BaseModel):
    """Where and how often to harvest."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(max_length=2000, description="The OAI-PMH base URL: http or https, no credentials; its "
                          "host must resolve to public addresses only (not loopback, link-local or private).",
                          examples=["https://koha.example.edu/cgi-bin/koha/oai.pl"])
    metadata_prefix: str | None = Field(
        default=None, max_length=40, pattern=_OAI_NAME,
        description="The format to ask for; omitted: the source's MARCXML format if it offers one, else `oai_dc`.")
    set_spec: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9\-_.!~*'():]+$",
                                 description="Harvest only this set of the source.")
    interval_minutes: int = Field(default=1440, ge=5, le=44640, description="Minutes between scheduled harvests.")
    enabled: bool = Field(default=True, description="Harvest on the schedule (requested runs happen either way).")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip()
        if any(c.isspace() or ord(c) < 32 for c in url):
            raise ValueError("must not contain spaces or control characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("must be an http or https URL")
        if not parts.hostname:
            raise ValueError("must name a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials (user:password@)")
        if parts.fragment:
            raise ValueError("must not have a #fragment")
        _ = parts.port  # raises ValueError for a port that is not a number in range
        return url


class HarvestIssue(BaseModel):
    position: int | None = Field(description="1-based position of the record in the harvest.")
    identifier: str | None = Field(description="Its OAI identifier.")
    reason: str | None = None


class HarvestRun(BaseModel):
    """One harvest and what it did."""

    id: str
    institution: str
    trigger: Literal["schedule", "request"]
    status: Literal["queued", "running", "succeeded", "failed"]
    metadata_prefix: str | None = Field(description="The format harvested.")
    harvested_from: str | None = Field(description="The `from` sent (null: everything).")
    pages: int
    records_read: int = Field(description="Records and deleted headers read.")
    created: int
    updated: int
    unchanged: int
    rejected: int
    deleted: int = Field(description="Records withdrawn because the source deleted them.")
    errors: list[HarvestIssue] = Field(description="The first 100 rejected records.")
    failure: str | None = Field(description="Why the run failed (HTTP status, network, OAI-PMH error code).")
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class HarvestSource(HarvestSourceConfig):
    """A source with its state."""

    model_config = ConfigDict(extra="ignore")

    institution: str
    last_datestamp: str | None = Field(description="The next harvest asks for records from this datestamp.")
    last_run_at: datetime | None
    next_run_at: datetime | None = Field(description="When the schedule next makes it due.")
    last_status: Literal["succeeded", "failed"] | None
    last_error: str | None
    running: bool = Field(description="A harvest of this source runs now (on some replica).")
    updated_by: str | None
    updated_at: datetime | None
    last_run: HarvestRun | None


class HarvestRunList(BaseModel):
    institution: str
    runs: list[HarvestRun]


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite gives naive datetimes back; everything stored is UTC."""
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for k, v in row.items()}


def _run(row: dict[str, Any]) -> HarvestRun:
    return HarvestRun.model_validate(_aware(row))


def _source(row: dict[str, Any]) -> HarvestSource:
    last = row.get("last_run")
    return HarvestSource.model_validate({**_aware(row), "last_run": _run(last) if last else None})


@router.put("/harvest-sources/{institution}", response_model=HarvestSource,
            summary=f"Register or change the institution's OAI-PMH source (201 when new). {_WHO}",
            responses={201: {"model": HarvestSource, "description": "Registered."}, **NOT_IN_DIRECTORY})
async def put_source(institution: Institution, config: HarvestSourceConfig, request: Request, response: Response,
                     uow: UnitOfWorkDep, caller: Principal = require_scope(WRITE_SCOPE)) -> HarvestSource:
    """A new source, or one whose URL, set or format changed, is harvested from the beginning, at once."""
    created = await service.register(uow, caller, institution, service.SourceConfig(**config.model_dump()),
                                     allow_private=private_sources_allowed(get_runtime(request)))
    await uow.commit()
    if created:
        response.status_code = 201
    return _source(await service.source_state(uow, caller, institution))


@router.get("/harvest-sources/{institution}", response_model=HarvestSource,
            summary=f"The source, how far harvesting got, its last error and its latest run. {_WHO}",
            responses={404: {"description": "No source registered."}})
async def get_source(institution: Institution, uow: UnitOfWorkDep,
                     caller: Principal = require_scope(WRITE_SCOPE)) -> HarvestSource:
    return _source(await service.source_state(uow, caller, institution))


@router.delete("/harvest-sources/{institution}", status_code=204,
               summary=f"Stop harvesting (the records already harvested stay). {_WHO}",
               responses={404: {"description": "No source registered."}})
async def delete_source(institution: Institution, uow: UnitOfWorkDep,
                        caller: Principal = require_scope(WRITE_SCOPE)) -> Response:
    await service.remove(uow, caller, institution)
    await uow.commit()
    return Response(status_code=204)


@router.post("/harvest-sources/{institution}/runs", status_code=202, response_model=HarvestRun,
             summary=f"Harvest now: queues a run (or returns the one already queued); follow it with GET. {_WHO}",
             responses={404: {"description": "No source registered."}})
async def post_run(institution: Institution, request: Request, uow: UnitOfWorkDep,
                   caller: Principal = require_scope(WRITE_SCOPE)) -> JSONResponse:
    run = await service.request_run(uow, caller, institution)
    await uow.commit()
    wake(get_runtime(request))
    return JSONResponse(_run(run).model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/catalog/harvest-sources/{institution}/runs/{run['id']}"})


@router.get("/harvest-sources/{institution}/runs", response_model=HarvestRunList,
            summary=f"The source's runs, newest first. {_WHO}")
async def list_runs(institution: Institution, uow: UnitOfWorkDep, caller: Principal = require_scope(WRITE_SCOPE),
                    limit: Annotated[int, Query(ge=1, le=200)] = 20) -> HarvestRunList:
    rows = await service.runs_of(uow, caller, institution, limit)
    return HarvestRunList(institution=institution, runs=[_run(r) for r in rows])


@router.get("/harvest-sources/{institution}/runs/{run_id}", response_model=HarvestRun,
            summary=f"One run and its progress. {_WHO}", responses={404: {"description": "No such run."}})
async def get_run(institution: Institution, run_id: Annotated[str, Path(max_length=36)], uow: UnitOfWorkDep,
                  caller: Principal = require_scope(WRITE_SCOPE)) -> HarvestRun:
    return _run(await service.run_of(uow, caller, institution, run_id))
