"""Storing contributed records: create, update, leave unchanged or reject each one, cluster, announce.

`ingest_records` is what both `POST /catalog/records` and the import job call with one batch. It takes the write
lock, looks up every record and key of the batch with a handful of statements, and takes a fast path for the
common case of a new record that shares no key with anything (a cluster of its own, no re-evaluation, its search
document built from what is in memory). Rows are written a batch per statement (`meshkit.bulk`). It does not
commit: the caller commits once per batch, so a batch and its events are stored together or not at all.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from bibliomesh_catalog.adapters.cluster_repository import ClusterRepository
from bibliomesh_catalog.adapters.holder_repository import HolderRepository
from bibliomesh_catalog.adapters.record_repository import RecordRepository, ensure_statistics, lock_for_writing
from bibliomesh_catalog.adapters.search.documents import SUSPENDED, DocumentText, document_text
from bibliomesh_catalog.adapters.search_index import index_new_clusters, reindex_clusters
from bibliomesh_catalog.domain.merge import single_display
from bibliomesh_catalog.domain.records import (
    ParsedRecord,
    RecordDescription,
    RejectedRecord,
    aggregate_id,
    match_keys,
)
from bibliomesh_catalog.service_layer import holdings
from bibliomesh_catalog.service_layer.clustering import Clusterer, cluster_event
from bibliomesh_catalog.service_layer.directory import require_known
from bibliomesh_contracts.events.catalog import RecordDeletedV1, RecordUpsertedV1
from meshkit.bulk import JsonText
from meshkit.problems import NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
Status = Literal["created", "updated", "unchanged", "rejected"]


@dataclass
class RecordResult:
    """What happened to one submitted record."""

    position: int
    local_id: str | None
    status: Status
    reason: str | None = None
    record_id: int | None = None
    cluster_id: int | None = None


@dataclass
class PreparedRecord:
    """A parsed record with what storing it needs that depends on nothing stored: its content hash and match keys,
    and, if it starts a cluster of its own, that cluster's display and search text and the rows' JSON. Those are
    computed when first needed, or all at once by `prepare_batch` where time is free: imports prepare in the
    parsing process, so that the service spends its time storing."""

    parsed: ParsedRecord
    content_hash: str
    keys: list[tuple[str, str]]

    @cached_property
    def display(self) -> dict[str, Any]:
        return single_display(self.parsed.description, self.parsed.description.format)

    @cached_property
    def text(self) -> DocumentText:
        return document_text(self.parsed.description.format, self.display)

    @cached_property
    def description_json(self) -> JsonText:
        """For a new record's row."""
        return JsonText(json.dumps(self.parsed.description.as_dict()))

    @cached_property
    def display_json(self) -> JsonText:
        """For the row of the cluster it starts."""
        return JsonText(json.dumps(self.display))


def prepare(parsed: ParsedRecord) -> PreparedRecord:
    return PreparedRecord(parsed, parsed.content_hash, match_keys(parsed.description))


def prepare_batch(batch: Iterable[ParsedRecord | RejectedRecord]) -> list[PreparedRecord | RejectedRecord]:
    """`prepare` every parsed record of a batch, all of it now (rejected ones stay as they are)."""
    prepared: list[PreparedRecord | RejectedRecord] = []
    for record in batch:
        if isinstance(record, ParsedRecord):
            ready = prepare(record)
            _ = ready.text, ready.description_json, ready.display_json
            prepared.append(ready)
        else:
            prepared.append(record)
    return prepared


@dataclass
class _Work:
    index: int
    prepared: PreparedRecord
    row: Any = None
    record_id: int | None = None
    cluster_id: int | None = None

    @property
    def parsed(self) -> ParsedRecord:
        return self.prepared.parsed

    @property
    def keys(self) -> list[tuple[str, str]]:
        return self.prepared.keys

    @property
    def content_hash(self) -> str:
        return self.prepared.content_hash


def _record_row(institution: str, work: _Work, now: datetime, *, new: bool = False) -> dict[str, Any]:
    """A record's row; a `new` one (inserted) takes its description serialized where it was prepared."""
    d = work.parsed.description
    return {"institution": institution, "local_id": work.parsed.local_id, "format": d.format, "title": d.title,
            "title_key": d.title_key[:300], "author": d.authors[0] if d.authors else None,
            "author_key": d.author_key[:200] or None, "year": d.year, "language": (d.language or "")[:8] or None,
            "description": work.prepared.description_json if new else d.as_dict(), "marc": work.parsed.marc_json,
            "content_hash": work.content_hash,
            "deleted_at": None, "updated_at": now}


async def ingest_records(uow: UnitOfWork, institution: str,
                         parsed_records: Iterable[ParsedRecord | PreparedRecord | RejectedRecord],
                         actor: Principal) -> list[RecordResult]:
    """Store one batch of an institution's records (authorization is the caller's: see the routes) and return
    one result per submitted record, in order. Rejected input records come back as `rejected`; duplicates of a
    local id within the batch are rejected after the first."""
    now = datetime.now(UTC)
    results: list[RecordResult] = []
    pending: list[_Work] = []
    seen: dict[str, int] = {}
    for record in parsed_records:
        item = prepare(record) if isinstance(record, ParsedRecord) else record
        if isinstance(item, RejectedRecord):
            results.append(RecordResult(item.position, item.local_id, "rejected", item.reason))
        elif item.parsed.local_id in seen:
            results.append(RecordResult(item.parsed.position, item.parsed.local_id, "rejected",
                                        "duplicate local id in this batch (first at position "
                                        f"{seen[item.parsed.local_id]})"))
        else:
            seen[item.parsed.local_id] = item.parsed.position
            results.append(RecordResult(item.parsed.position, item.parsed.local_id, "rejected", "not processed"))
            pending.append(_Work(len(results) - 1, item))
    if not pending:
        return results
    await lock_for_writing(uow.session)
    records = RecordRepository(uow.session)
    existing = await records.find(institution, [w.parsed.local_id for w in pending])
    new: list[_Work] = []
    changed: list[_Work] = []
    for work in pending:
        work.row = existing.get(work.parsed.local_id)
        if work.row is None:
            new.append(work)
        elif work.row.deleted_at is None and work.row.content_hash == work.content_hash:
            results[work.index] = RecordResult(work.parsed.position, work.parsed.local_id, "unchanged",
                                               record_id=work.row.id, cluster_id=work.row.cluster_id)
        else:
            changed.append(work)
    if not new and not changed:
        return results
    singles, others = await _split_fast_path(uow, institution, new, changed)
    await _store_singles(uow, institution, singles, now)
    reindex: set[int] = set()
    others_ids = await records.insert([{**_record_row(institution, w, now, new=True), "cluster_id": None,
                                        "match_key": None, "created_at": now, "version": 1} for w in others])
    for work, record_id in zip(others, others_ids, strict=True):
        work.record_id = record_id
    await records.update([{"record_id": w.row.id, **_record_row(institution, w, now), "version": w.row.version + 1}
                          for w in changed])
    for work in changed:
        work.record_id = work.row.id
    slow = others + changed
    await records.replace_keys([w.row.id for w in changed], [
        {"record_id": w.record_id, "kind": kind, "value": value} for w in [*singles, *slow] for kind, value in w.keys])
    moved: set[int] = set()
    if slow:
        outcome = await Clusterer(uow, now).recluster(
            {w.record_id for w in slow if w.record_id is not None},
            extra_clusters={w.row.cluster_id for w in changed if w.row.cluster_id},
            dirty={w.record_id for w in changed if w.record_id is not None}, deep=bool(changed))
        for work in slow:
            work.cluster_id = outcome.assignments.get(work.record_id or 0)
        moved = outcome.moved - {w.record_id for w in slow}
        reindex |= outcome.changed | outcome.deleted
    for work in [*singles, *slow]:
        created = work.row is None or work.row.deleted_at is not None
        results[work.index] = RecordResult(work.parsed.position, work.parsed.local_id,
                                           "created" if created else "updated", record_id=work.record_id,
                                           cluster_id=work.cluster_id)
        _publish_upserted(uow, institution, work, created)
    reindex |= await _holdings(uow, institution, now, [*singles, *slow], changed, moved)
    await _index_singles(uow, institution, singles, [*singles, *slow])
    await reindex_clusters(uow.session, sorted(reindex - {w.cluster_id for w in singles}))
    await ensure_statistics(uow.session)
    log.info("records ingested", extra={"institution": institution, "actor": actor.subject,
                                        "counts": dict(Counter(r.status for r in results))})
    return results


async def _split_fast_path(uow: UnitOfWork, institution: str, new: list[_Work],
                           changed: list[_Work]) -> tuple[list[_Work], list[_Work]]:
    """New records sharing no key with any stored record, with no other record of the batch and named by no
    staff override can start clusters of their own without re-evaluating anything."""
    if not new:
        return [], []
    stored = {(kind, value) for _, kind, value in
              await RecordRepository(uow.session).sharing({k for w in new for k in w.keys})}
    in_batch = Counter(k for w in [*new, *changed] for k in w.keys)
    named = {ref for o in await ClusterRepository(uow.session).overrides_involving(
        {(institution, w.parsed.local_id) for w in new})
        for ref in ((o.a_institution, o.a_local_id), (o.b_institution, o.b_local_id))}
    singles: list[_Work] = []
    others: list[_Work] = []
    for work in new:
        alone = all(k not in stored and in_batch[k] == 1 for k in work.keys)
        (singles if alone and (institution, work.parsed.local_id) not in named else others).append(work)
    return singles, others


async def _store_singles(uow: UnitOfWork, institution: str, singles: list[_Work], now: datetime) -> None:
    if not singles:
        return
    cluster_ids = await ClusterRepository(uow.session).create([
        {"format": w.parsed.description.format, "display": w.prepared.display_json, "member_count": 1,
         "updated_at": now, "version": 1, "work_id": None} for w in singles])
    record_ids = await RecordRepository(uow.session).insert([
        {**_record_row(institution, w, now, new=True), "cluster_id": c, "match_key": None, "created_at": now,
         "version": 1} for w, c in zip(singles, cluster_ids, strict=True)])
    for work, cluster_id, record_id in zip(singles, cluster_ids, record_ids, strict=True):
        work.cluster_id, work.record_id = cluster_id, record_id
        uow.publish(cluster_event(cluster_id, work.prepared.display, work.parsed.description.format, None,
                                  [(institution, work.parsed.local_id, None)]),
                    aggregate_id=f"cluster:{cluster_id}", aggregate_version=1)


async def _index_singles(uow: UnitOfWork, institution: str, singles: list[_Work], stored: list[_Work]) -> None:
    """The search documents of the clusters started by `singles`, from what is in memory: their display and the
    items they state (an item stated twice in a batch belongs to the last record stating it; none of them can be
    had while the institution is suspended)."""
    if not singles:
        return
    owner = {h.item_id: w.record_id for w in stored for h in w.parsed.holdings or ()}
    suspended = await HolderRepository(uow.session).status_of(institution) == SUSPENDED
    documents = []
    for work in singles:
        d = work.parsed.description
        states = [holdings.holding_state(institution, h, d.format, suspended=suspended)
                  for h in work.parsed.holdings or () if owner[h.item_id] == work.record_id]
        documents.append(work.prepared.text.for_cluster(work.cluster_id or 0, states))
    await index_new_clusters(uow.session, documents)


def _publish_upserted(uow: UnitOfWork, institution: str, work: _Work, created: bool) -> None:
    d = work.parsed.description
    version = 1 if work.row is None else work.row.version + 1
    uow.publish(RecordUpsertedV1(
        institution=institution, local_id=work.parsed.local_id, record_id=work.record_id or 0,
        cluster_id=work.cluster_id, created=created, format=d.format, title=d.title, year=d.year, isbns=d.isbns,
        issns=d.issns, oclc_numbers=d.oclc_numbers, lccns=d.lccns, content_hash=work.content_hash),
        aggregate_id=aggregate_id("record", institution, work.parsed.local_id), aggregate_version=version,
        institution=institution)


async def _holdings(uow: UnitOfWork, institution: str, now: datetime, stored: list[_Work], changed: list[_Work],
                    moved: set[int]) -> set[int]:
    states = {w.record_id: holdings.RecordState.of(w.record_id, w.parsed.local_id, w.cluster_id,
                                                   w.parsed.description)
              for w in stored if w.record_id is not None}
    stated = {w.record_id: w.parsed.holdings for w in stored
              if w.record_id is not None and w.parsed.holdings is not None}
    touched = {w.record_id: states[w.record_id] for w in changed if w.record_id is not None}
    clusters = await holdings.reconcile(uow, institution, now, stated, touched, states)
    if moved:
        clusters |= await holdings.reannounce(uow, now, await RecordRepository(uow.session).load(moved))
    return clusters


async def delete_record(uow: UnitOfWork, actor: Principal, institution: str, local_id: str) -> bool:
    """Withdraw a record and its holdings and re-evaluate its cluster. False if it was already deleted."""
    actor.require_institution(institution)
    await require_known(uow.session, institution)
    await lock_for_writing(uow.session)
    now = datetime.now(UTC)
    records = RecordRepository(uow.session)
    row = (await records.find(institution, [local_id])).get(local_id)
    if row is None:
        raise NotFound(f"{institution} has no record {local_id!r}")
    if row.deleted_at is not None:
        return False
    full = (await records.load([row.id]))[row.id]
    state = holdings.RecordState.of(row.id, local_id, row.cluster_id, RecordDescription.from_dict(full.description))
    await holdings.withdraw_all(uow, now, state)
    await records.update([{"record_id": row.id, "deleted_at": now, "cluster_id": None, "match_key": None,
                           "updated_at": now, "version": row.version + 1}])
    await records.replace_keys([row.id], [])
    outcome = await Clusterer(uow, now).recluster(set(), extra_clusters={row.cluster_id} if row.cluster_id else set(),
                                                  deep=True)
    uow.publish(RecordDeletedV1(institution=institution, local_id=local_id, record_id=row.id,
                                former_cluster_id=row.cluster_id),
                aggregate_id=aggregate_id("record", institution, local_id), aggregate_version=row.version + 1,
                institution=institution)
    changed = await holdings.reannounce(uow, now, await records.load(outcome.moved)) if outcome.moved else set()
    await reindex_clusters(uow.session, sorted(outcome.changed | outcome.deleted | changed))
    return True
