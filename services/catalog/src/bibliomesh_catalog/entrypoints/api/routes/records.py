"""`/catalog/records`: libraries contribute and withdraw their records.

Bodies: `application/marc` (MARC21, UTF-8 or MARC-8), `application/marcxml+xml`, `application/json` (one record,
an array, see `RecordJson`) or `application/x-ndjson`; or `multipart/form-data` with a `records` part in one of
those types and a `holdings` part (a JSON array of `HoldingAlongside`) for MARC records without item fields.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.datastructures import UploadFile
from starlette.types import Message

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing import PARSERS, parser_for
from bibliomesh_catalog.parsing.json_form import HoldingAlongside
from bibliomesh_catalog.service_layer.imports import require_known_institution
from bibliomesh_catalog.service_layer.ingest import delete_record, ingest_records
from meshkit.problems import ContentTooLarge, Problem
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, get_runtime, require_scope

router = APIRouter(prefix="/catalog", tags=["records"])
WRITE_SCOPE = "catalog:write"
NOT_IN_DIRECTORY: dict[int | str, dict[str, Any]] = {409: {"description": (
    "The institution is not (yet) in the catalogue's copy of the directory (problem+json, field `institution`). "
    "Auth announces a newly registered institution within seconds: retry after `Retry-After` seconds.")}}
_HOLDINGS = TypeAdapter(list[HoldingAlongside])


class RecordOutcome(BaseModel):
    """What happened to one submitted record."""

    position: int = Field(description="1-based position of the record in the submission.")
    local_id: str | None = Field(description="Its local id, when it could be read.")
    status: Literal["created", "updated", "unchanged", "rejected"]
    reason: str | None = Field(default=None, description="Why it was rejected.")
    record_id: int | None = None
    cluster_id: int | None = Field(default=None, description="The cluster it belongs to now.")


class IngestReport(BaseModel):
    """One outcome per submitted record, in order; a rejected record never affects the others."""

    institution: str
    counts: dict[str, int] = Field(description="How many records ended in each status.")
    results: list[RecordOutcome]
    ignored_holdings: list[str] = Field(
        default_factory=list, description="Local ids named in the `holdings` part that match no accepted record.")


def max_body_bytes(request: Request) -> int:
    """`CATALOG_RECORDS_MAX_BYTES` if the settings carry it, else 20 MiB (larger loads go through imports)."""
    return int(request.app.state.runtime.settings.records_max_bytes)


def limited(request: Request, limit: int) -> Request:
    """The same request, whose body fails with 413 as soon as it exceeds `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    too_large = f"the body is larger than {limit} bytes; send large files to POST /catalog/imports"
    if declared.isdigit() and int(declared) > limit:
        raise ContentTooLarge(too_large, limit=limit)
    received = 0
    receive: Callable[[], Awaitable[Message]] = request.receive

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise ContentTooLarge(too_large, limit=limit)
        return message

    return Request(request.scope, counting)


async def read_submission(request: Request) -> tuple[list[ParsedRecord | RejectedRecord], list[str]]:
    """Parse the body into records (holdings sent alongside merged in) and the local ids of unused holdings."""
    body = limited(request, max_body_bytes(request))
    media_type = request.headers.get("content-type", "")
    alongside: list[HoldingAlongside] = []
    if media_type.startswith("multipart/form-data"):
        form = await body.form(max_files=2, max_fields=4, max_part_size=max_body_bytes(request))
        part = form.get("records")
        if not isinstance(part, UploadFile):
            raise Problem("a multipart submission needs a `records` file part", status=422)
        media_type, data = part.content_type or "", await part.read()
        holdings_part = form.get("holdings")
        if holdings_part is not None:
            raw = await holdings_part.read() if isinstance(holdings_part, UploadFile) else holdings_part
            try:
                alongside = _HOLDINGS.validate_json(raw)
            except ValidationError as exc:
                # Named from the form part down, as request validation names body fields (`holdings.0.status`).
                raise Problem(f"invalid `holdings` part: {exc.errors()[0]['msg']}", status=422,
                              errors=[{"field": ".".join(["holdings", *map(str, e["loc"])]), "message": e["msg"]}
                                      for e in exc.errors()[:20]]) from exc
    else:
        data = await body.body()
    parser = parser_for(media_type)
    if parser is None:
        raise Problem(f"unsupported content type {media_type!r}; use one of {', '.join(sorted(PARSERS))} or "
                      "multipart/form-data", status=415)
    if not data.strip():
        raise Problem("the body holds no records", status=400)
    parsed = list(parser(io.BytesIO(data)))
    return parsed, _merge_holdings(parsed, alongside)


def _merge_holdings(parsed: list[ParsedRecord | RejectedRecord], alongside: list[HoldingAlongside]) -> list[str]:
    by_record: dict[str, list[Any]] = defaultdict(list)
    for holding in alongside:
        by_record[holding.local_id.strip()].append(holding.to_input())
    for record in parsed:
        if isinstance(record, ParsedRecord) and record.local_id in by_record:
            record.holdings = by_record.pop(record.local_id)
    return sorted(by_record)


@router.post(
    "/records", response_model=IngestReport,
    summary="Contribute one record or a batch (MARC21, MARCXML, JSON; holdings alongside as multipart). Who: "
            "a token with `catalog:write` for the institution written to (by default the token's own); platform "
            "admins for any institution.",
    openapi_extra={"requestBody": {"required": True, "content": {
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in PARSERS},
        "multipart/form-data": {"schema": {"type": "object", "required": ["records"], "properties": {
            "records": {"type": "string", "format": "binary"},
            "holdings": {"type": "string", "description": "JSON array of items with their record's local_id."}}}},
    }}},
    responses=NOT_IN_DIRECTORY,
)
async def post_records(
    request: Request, uow: UnitOfWorkDep, caller: Principal = require_scope(WRITE_SCOPE),
    institution: Annotated[str | None, Query(max_length=64, description="Institution the records belong to; "
                                                                        "defaults to the caller's.")] = None,
) -> IngestReport:
    """Parse the body, store each record, and report per record; bad records are rejected one by one."""
    target = institution or caller.institution
    caller.require_institution(target)
    # The 409 comes before the body is read, from a unit of work of its own: `uow` takes its connection only once
    # the records are parsed, so a slow upload holds none of the pool while it arrives.
    await require_known_institution(get_runtime(request), target)
    parsed, ignored = await read_submission(request)
    results = await ingest_records(uow, target, parsed, caller)
    await uow.commit()
    return IngestReport(institution=target, counts=dict(Counter(r.status for r in results)),
                        results=[RecordOutcome(**vars(r)) for r in results], ignored_holdings=ignored)


@router.delete(
    "/records/{institution}/{local_id:path}", status_code=204,
    summary="Withdraw a record and its holdings; its cluster is re-evaluated. Who: a token with `catalog:write` "
            "for that institution (or a platform admin).",
    description="Deleting a record that is already deleted is a no-op answered 204, so that a partner system "
                "retrying its delete never sees an error: the tombstone (kept for OAI-PMH) stays as it was, and no "
                "event is published again. A record the institution never had is a 404.",
    responses={204: {"description": "Withdrawn now, or already withdrawn before (nothing changed)."},
               404: {"description": "The institution never had such a record."}, **NOT_IN_DIRECTORY},
)
async def remove_record(institution: str, local_id: str, uow: UnitOfWorkDep,
                        caller: Principal = require_scope(WRITE_SCOPE)) -> Response:
    """Withdraw the record (idempotent: an already withdrawn record gives 204 again and changes nothing)."""
    await delete_record(uow, caller, institution, local_id)
    await uow.commit()
    return Response(status_code=204)
