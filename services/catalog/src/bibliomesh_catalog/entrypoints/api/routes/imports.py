"""`/catalog/imports`: bulk loads of a whole catalogue file, processed in the background with progress.

The body (`application/marc`, `application/marcxml+xml`, `application/json`, `application/x-ndjson`) is spooled
to disk as it arrives, never held in memory; the job is answered at once (202) and then parsed and stored in
batches, its row updated after each batch. Importing the same file again leaves every record `unchanged`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bibliomesh_catalog.adapters.import_repository import ImportRepository
from bibliomesh_catalog.entrypoints.api.routes.records import NOT_IN_DIRECTORY
from bibliomesh_catalog.parsing import PARSERS, parser_for
from bibliomesh_catalog.service_layer import imports as service
from meshkit.numbers import whole_number
from meshkit.problems import NotFound, Problem
from meshkit.security import Principal
from meshkit.web import get_runtime, require_scope

router = APIRouter(prefix="/catalog", tags=["imports"])
WRITE_SCOPE = "catalog:write"


class ImportIssue(BaseModel):
    position: int | None = Field(description="1-based position of the rejected record; null for a job failure.")
    local_id: str | None = None
    reason: str | None = None


class ImportJob(BaseModel):
    """A bulk import and how far it got."""

    id: str
    institution: str
    filename: str | None
    media_type: str
    status: Literal["running", "succeeded", "failed"]
    file_sha256: str | None
    bytes_total: int | None
    bytes_read: int
    records_read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ImportIssue] = Field(description="The first 100 rejections (and the failure, if any).")
    failure: str | None = Field(description="Why the job failed.")
    created_by: str
    started_at: datetime
    finished_at: datetime | None
    rate: float | None = Field(description="Records per second so far.")
    estimated_seconds_left: float | None = Field(description="From the bytes still to read at the current rate.")


class ImportList(BaseModel):
    institution: str
    imports: list[ImportJob]


def _job(row: dict[str, Any]) -> ImportJob:
    return ImportJob.model_validate(service.describe(row))


@router.post(
    "/imports", status_code=202, response_model=ImportJob,
    summary="Start a bulk import of a catalogue file. Who: a token with `catalog:write` for the institution "
            "(by default the token's own); platform admins for any institution.",
    openapi_extra={"requestBody": {"required": True, "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in PARSERS}}},
    responses={413: {"description": "The file is larger than `CATALOG_MAX_IMPORT_BYTES`."},
               503: {"description": "Other imports hold this replica's spool budget (`CATALOG_IMPORT_SPOOL_BYTES`); "
                                    "try again after `Retry-After` seconds."},
               415: {"description": "Unsupported media type."}, **NOT_IN_DIRECTORY},
)
async def post_import(
    request: Request, caller: Principal = require_scope(WRITE_SCOPE),
    institution: Annotated[str | None, Query(max_length=64, description="Institution the records belong to; "
                                                                        "defaults to the caller's.")] = None,
    filename: Annotated[str | None, Query(max_length=500, description="The file's name, for the record.")] = None,
) -> JSONResponse:
    """Spool the body to disk, create the job and start it; poll `GET /catalog/imports/{id}` for progress."""
    target = institution or caller.institution
    caller.require_institution(target)
    media_type = request.headers.get("content-type", "")
    parser = parser_for(media_type)
    if parser is None:
        raise Problem(f"unsupported content type {media_type!r}; use one of {', '.join(sorted(PARSERS))}",
                      status=415)
    runtime = get_runtime(request)
    settings = runtime.settings
    # CATALOG_MAX_IMPORT_BYTES for one file, CATALOG_IMPORT_SPOOL_BYTES for all this replica holds at once
    limit, budget = int(settings.max_import_bytes), int(settings.import_spool_bytes)  # type: ignore[attr-defined]
    declared = whole_number(request.headers.get("content-length"), low=0)
    if declared is not None and declared > limit:
        raise service.too_large(limit)
    await service.require_known_institution(runtime, target)
    await service.ensure_recovered(runtime)
    spooled = await service.spool_within_budget(runtime, request.stream(), declared, limit, budget)
    try:
        if spooled.size == 0:
            raise Problem("the body holds no records", status=400)
        job = await service.create_job(runtime, target, media_type.split(";", 1)[0].strip().lower(), filename,
                                       spooled, caller)
    except BaseException:
        spooled.path.unlink(missing_ok=True)
        service.release_spooled(runtime, spooled)
        raise
    service.start_import(runtime, job, parser, spooled, caller)  # its end releases the file's share of the budget
    return JSONResponse(_job(job).model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/catalog/imports/{job['id']}"})


@router.get(
    "/imports/{job_id}", response_model=ImportJob,
    summary="An import's progress. Who: a token with `catalog:write` for the job's institution (or a platform "
            "admin).",
    responses={404: {"description": "No such import."}},
)
async def get_import(request: Request, job_id: Annotated[str, Path(max_length=36)],
                     caller: Principal = require_scope(WRITE_SCOPE)) -> ImportJob:
    runtime = get_runtime(request)
    await service.ensure_recovered(runtime)
    async with runtime.unit_of_work() as uow:
        row = await ImportRepository(uow.session).get(job_id)
    if row is None:
        raise NotFound(f"no import {job_id}")
    caller.require_institution(row["institution"])
    return _job(row)


@router.get(
    "/imports", response_model=ImportList,
    summary="An institution's imports, newest first. Who: a token with `catalog:write` for the institution (or "
            "a platform admin).",
)
async def list_imports(
    request: Request, caller: Principal = require_scope(WRITE_SCOPE),
    institution: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ImportList:
    target = institution or caller.institution
    caller.require_institution(target)
    runtime = get_runtime(request)
    await service.ensure_recovered(runtime)
    async with runtime.unit_of_work() as uow:
        rows = await ImportRepository(uow.session).list_for(target, limit)
    return ImportList(institution=target, imports=[_job(r) for r in rows])
