"""One OAI-PMH harvest of an institution's source: Identify, choose the format, ListRecords from the cursor.

Each page is one transaction: its records go through `ingest_records`, its deleted headers withdraw the records
(`delete_record`, which re-clusters), and the run's counts and the source's cursor are written with them, only
while this replica still holds the source's lease and the source still has the URL, set and format the harvest
began with (if they changed, it stops: the next harvest starts from the beginning of the new target). So a harvest
that stops half-way (crash, network, lease lost) leaves whole pages applied and a cursor that is safe to resume
from: as long as the pages came in datestamp order (they do from most sources, our own included) the cursor
follows the last datestamp applied; otherwise it moves only once the list is complete. A complete harvest moves it
to the source's `responseDate` of its first request, so anything changed while it ran is harvested again next time
(`from` is inclusive: unchanged records come back as `unchanged`, which costs little).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bibliomesh_catalog.adapters.harvest_repository import COUNTERS, SOURCE_LEASE, HarvestRepository, targets
from bibliomesh_catalog.adapters.leases import Heartbeat, LeaseLost
from bibliomesh_catalog.adapters.oai_client import (
    HarvestError,
    OaiClient,
    OaiItem,
    OaiPage,
    OaiProtocolError,
    format_datestamp,
    parse_datestamp,
)
from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.dublin_core import OAI_DC_NS
from bibliomesh_catalog.parsing.marcxml import MARC_NS
from bibliomesh_catalog.parsing.oai_metadata import read_oai_metadata
from bibliomesh_catalog.service_layer.ingest import delete_record, ingest_records
from bibliomesh_catalog.service_layer.jobs import lease_seconds
from bibliomesh_catalog.service_layer.source_addresses import private_sources_allowed, public_hosts_only
from meshkit.outbound_urls import public_only_transport
from meshkit.problems import NotFound
from meshkit.runtime import ServiceRuntime
from meshkit.security import SYSTEM, Principal
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
MAX_ERRORS = 100
USER_AGENT = "Bibliomesh-harvester/1.0 (OAI-PMH 2.0)"


class SourceChanged(Exception):
    """What the source harvests (base URL, set, format) changed since this harvest began: stop, writing nothing
    more, so that the next harvest starts from the beginning of the new target."""


def harvester(institution: str) -> Principal:
    """The system identity harvests write with: it acts for the source's institution only."""
    return Principal(subject=f"oai-harvest:{institution}", institution=institution, roles=frozenset({SYSTEM}))


@dataclass
class Progress:
    """Counts and cursor of a run, as last committed."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    errors: list[dict[str, Any]] = field(default_factory=list)
    latest: datetime | None = None
    in_order: bool = True


async def choose_prefix(client: OaiClient) -> str:
    """The source's MARCXML format if it offers one (`marc21` first), else `oai_dc`."""
    try:
        formats = await client.metadata_formats()
    except OaiProtocolError:
        return "oai_dc"  # every OAI-PMH repository must offer it
    marc = [f.prefix for f in formats if f.namespace.rstrip("/") == MARC_NS and f.prefix]
    if marc:
        return "marc21" if "marc21" in marc else marc[0]
    if any(f.prefix == "oai_dc" or f.namespace == OAI_DC_NS for f in formats):
        return "oai_dc"
    raise HarvestError("the source offers neither MARCXML nor oai_dc (see its ListMetadataFormats)")


async def harvest(runtime: ServiceRuntime, source: dict[str, Any], run_id: str, owner: str,
                  beat: Heartbeat) -> str | None:
    """Harvest `source` into the run `run_id`; returns the cursor for the next run."""
    settings = runtime.settings
    timeout = float(getattr(settings, "harvest_timeout_seconds", 60.0))
    allow_private = private_sources_allowed(runtime)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, headers={"user-agent": USER_AGENT},
                                 event_hooks={"request": [public_hosts_only(allow_private)]},
                                 transport=public_only_transport(allow_private=allow_private)) as http:
        client = OaiClient(http, source["base_url"], attempts=int(getattr(settings, "harvest_attempts", 4)),
                           retry_seconds=float(getattr(settings, "harvest_retry_seconds", 2.0)),
                           max_bytes=int(getattr(settings, "harvest_max_response_bytes", 64 << 20)))
        identity = await client.identify()
        prefix = source["metadata_prefix"] or await choose_prefix(client)
        since = parse_datestamp(source["last_datestamp"])
        from_ = format_datestamp(since, identity.granularity) if since else None
        async with runtime.unit_of_work() as uow:
            await HarvestRepository(uow.session).update_run(run_id, metadata_prefix=prefix, harvested_from=from_)
            await uow.commit()
        progress = Progress()
        async for page in client.list_records(prefix, from_, source["set_spec"]):
            if beat.lost:
                raise LeaseLost(source["institution"])
            await apply_page(runtime, source, run_id, owner, page, progress, identity.granularity)
    end = identity.response_date or progress.latest
    return format_datestamp(end, identity.granularity) if end else source["last_datestamp"]


def _parse(items: list[OaiItem], first_position: int) -> list[tuple[OaiItem, ParsedRecord | RejectedRecord | None]]:
    """Each item with its parsed record (None for a deletion)."""
    return [(item, None if item.deleted and item.identifier else
             read_oai_metadata(item.identifier, item.metadata, first_position + index))
            for index, item in enumerate(items)]


async def apply_page(runtime: ServiceRuntime, source: dict[str, Any], run_id: str, owner: str, page: OaiPage,
                     progress: Progress, granularity: str) -> None:
    """Store one page of `source` (as it was when the harvest began) in one transaction, with the run's counts and
    (when safe) the advanced cursor."""
    institution, version = source["institution"], source["target_version"]
    counts, errors = dict(progress.counts), list(progress.errors)
    parsed = _parse(page.items, counts["records_read"] + 1)
    latest, in_order = progress.latest, progress.in_order
    for item, _ in parsed:
        stamp = parse_datestamp(item.datestamp)
        in_order = in_order and stamp is not None and (latest is None or stamp >= latest)
        latest = max(latest, stamp) if latest and stamp else (stamp or latest)
    actor = harvester(institution)
    async with runtime.unit_of_work() as uow:
        batch: list[ParsedRecord | RejectedRecord] = []
        for item, record in parsed:
            if record is not None:
                batch.append(record)
                continue
            await _ingest(uow, institution, batch, actor, counts, errors)
            batch = []
            counts["records_read"] += 1
            counts["deleted"] += await _withdraw(uow, actor, institution, item.identifier)
        await _ingest(uow, institution, batch, actor, counts, errors)
        counts["pages"] += 1
        cursor = {"last_datestamp": format_datestamp(latest, granularity)} if in_order and latest else {}
        repository = HarvestRepository(uow.session)
        if not await repository.update_source(institution, SOURCE_LEASE.held_by(owner), targets(version), **cursor,
                                              **SOURCE_LEASE.values(owner, lease_seconds(runtime))):
            moved = await repository.target_version(institution) not in (None, version)
            raise SourceChanged(institution) if moved else LeaseLost(institution)
        await repository.update_run(run_id, errors=errors, **counts)
        await uow.commit()
    progress.counts, progress.errors, progress.latest, progress.in_order = counts, errors, latest, in_order


async def _ingest(uow: UnitOfWork, institution: str, batch: list[ParsedRecord | RejectedRecord], actor: Principal,
                  counts: dict[str, int], errors: list[dict[str, Any]]) -> None:
    if not batch:
        return
    for result in await ingest_records(uow, institution, batch, actor):
        counts["records_read"] += 1
        counts[result.status] += 1
        if result.status == "rejected" and len(errors) < MAX_ERRORS:
            errors.append({"position": result.position, "identifier": result.local_id, "reason": result.reason})


async def _withdraw(uow: UnitOfWork, actor: Principal, institution: str, identifier: str) -> int:
    """1 if the deleted header withdrew one of the institution's records, 0 if it had none (or already gone)."""
    try:
        return int(await delete_record(uow, actor, institution, identifier))
    except NotFound:
        return 0
