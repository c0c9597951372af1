"""Holdings: reconciling the items a record states, circulation updates, and `catalog.holdings.changed`.

One event per institution + item that appeared, changed (status, due date, location, its record's content or
cluster) or went away, with the record's identifiers and title key so the broker can route a citation without
calling back, and its title (also in another script) so the broker can name what is requested. Each item's
version grows with every event, also across a withdrawal and a return (tombstones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bibliomesh_catalog.adapters.record_repository import HoldingRepository, RecordRepository, lock_for_writing
from bibliomesh_catalog.adapters.search.documents import SUSPENDED, HoldingState, is_available
from bibliomesh_catalog.adapters.search_index import reindex_clusters
from bibliomesh_catalog.domain.records import HoldingInput, RecordDescription, aggregate_id
from bibliomesh_catalog.service_layer.directory import require_known
from bibliomesh_contracts.events.catalog import HoldingsChangedV1
from meshkit.problems import InvalidField, NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

_COMPARED = ("location", "call_number", "format", "status", "due_date", "ill_copy_allowed")


@dataclass(frozen=True, slots=True)
class RecordState:
    """What a holdings event says about the record an item belongs to."""

    record_id: int
    local_id: str
    cluster_id: int | None
    format: str
    isbns: tuple[str, ...]
    issns: tuple[str, ...]
    oclc_numbers: tuple[str, ...]
    title_key: str
    title: str
    alt_title: str | None

    @classmethod
    def of(cls, record_id: int, local_id: str, cluster_id: int | None, description: RecordDescription) -> RecordState:
        key = f"{description.title_key}|{description.author_key}|{description.year or ''}"
        return cls(record_id, local_id, cluster_id, description.format, tuple(description.isbns),
                   tuple(description.issns), tuple(description.oclc_numbers), key[:300], description.title,
                   next(iter(description.alt_titles), None))


def holding_event(values: dict[str, Any] | Any, record: RecordState, change: str) -> HoldingsChangedV1:
    """The `catalog.holdings.changed` payload for a holding row (or its new values)."""
    get = values.get if isinstance(values, dict) else values._mapping.get
    status = get("status")
    return HoldingsChangedV1(
        institution=get("institution"), item_id=get("item_id"), change=change, status=status,
        available=status == "available" and change != "withdrawn", due_date=get("due_date"),
        format=get("format"), ill_copy_allowed=get("ill_copy_allowed"), location=get("location"),
        call_number=get("call_number"), local_id=record.local_id, record_id=record.record_id,
        cluster_id=record.cluster_id, isbns=list(record.isbns), issns=list(record.issns),
        oclc_numbers=list(record.oclc_numbers), title_key=record.title_key, title=record.title,
        alt_title=record.alt_title)


def _publish(uow: UnitOfWork, values: dict[str, Any] | Any, record: RecordState, change: str, version: int) -> None:
    event = holding_event(values, record, change)
    uow.publish(event, aggregate_id=aggregate_id("holding", event.institution, event.item_id),
                aggregate_version=version, institution=event.institution)


def _values(holding: HoldingInput, record_format: str) -> dict[str, Any]:
    format_ = holding.format or record_format
    allowed = holding.ill_copy_allowed if holding.ill_copy_allowed is not None else format_ == "print"
    return {"location": holding.location, "call_number": holding.call_number, "format": format_,
            "status": holding.status, "due_date": holding.due_date if holding.status == "on-loan" else None,
            "ill_copy_allowed": allowed}


def holding_state(institution: str, holding: HoldingInput, record_format: str, *,
                  suspended: bool = False) -> HoldingState:
    """What the search index needs of an item a record states: who holds it, and whether it can be had now."""
    values = _values(holding, record_format)
    return HoldingState(institution, is_available(values["status"], values["format"], values["ill_copy_allowed"],
                                                  suspended))


async def reconcile(uow: UnitOfWork, institution: str, now: datetime, stated: dict[int, list[HoldingInput]],
                    touched: dict[int, RecordState], states: dict[int, RecordState]) -> set[int]:
    """Make each record in `stated` hold exactly those items; re-announce the items of `touched` records (their
    content or cluster changed). Returns the clusters whose holdings changed."""
    repo = HoldingRepository(uow.session)
    current = await repo.of_records(set(stated) | set(touched))
    wanted = {h.item_id: (record_id, h) for record_id, items in stated.items() for h in items}
    elsewhere = {k: v for k, v in (await repo.by_items(institution, wanted)).items()
                 if v.record_id not in stated}
    existing = {row.item_id: row for row in current if row.record_id in stated} | elsewhere
    tombstones = await repo.tombstones(institution, [i for i in wanted if i not in existing])
    inserts, updates, gone = [], [], []
    clusters: set[int] = set()
    for item_id, (record_id, holding) in wanted.items():
        record = states[record_id]
        values = _values(holding, record.format)
        row = existing.get(item_id)
        if row is None:
            version = tombstones.get(item_id, 0) + 1
            inserts.append({"record_id": record_id, "institution": institution, "item_id": item_id,
                            "updated_at": now, "version": version, **values})
            _publish(uow, {"institution": institution, "item_id": item_id, **values}, record, "appeared", version)
        elif row.record_id != record_id or record_id in touched or any(getattr(row, k) != values[k]
                                                                        for k in _COMPARED):
            updates.append({"holding_id": row.id, "record_id": record_id, "updated_at": now,
                            "version": row.version + 1, **values})
            _publish(uow, {"institution": institution, "item_id": item_id, **values}, record, "changed",
                     row.version + 1)
        else:
            continue
        clusters.add(record.cluster_id or 0)
    for row in current:
        if row.record_id in stated and row.item_id not in wanted:
            gone.append(row)
            _publish(uow, row, states[row.record_id], "withdrawn", row.version + 1)
            clusters.add(states[row.record_id].cluster_id or 0)
        elif row.record_id not in stated and row.record_id in touched and row.item_id not in wanted:
            updates.append({"holding_id": row.id, "record_id": row.record_id, "updated_at": now,
                            "version": row.version + 1, **{k: getattr(row, k) for k in _COMPARED}})
            _publish(uow, row, touched[row.record_id], "changed", row.version + 1)
            clusters.add(touched[row.record_id].cluster_id or 0)
    # The items found elsewhere all move here: the clusters they leave lose them, also those of records that are
    # not being reconciled (whose state the caller did not pass).
    clusters |= await _clusters_of(uow, {row.record_id for row in elsewhere.values()}, states)
    await repo.withdraw(gone, now)
    await repo.forget_tombstones(institution, [r["item_id"] for r in inserts if r["item_id"] in tombstones])
    await repo.insert(inserts)
    await repo.update(updates)
    clusters.discard(0)
    return clusters


async def _clusters_of(uow: UnitOfWork, record_ids: set[int], states: dict[int, RecordState]) -> set[int]:
    """The current clusters of these records: from `states` where known, else as stored."""
    clusters = {states[r].cluster_id or 0 for r in record_ids if r in states}
    others = record_ids - set(states)
    if others:
        clusters |= {row.cluster_id or 0 for row in (await RecordRepository(uow.session).refs(others)).values()}
    return clusters


async def reannounce(uow: UnitOfWork, now: datetime, rows: dict[int, Any]) -> set[int]:
    """Re-announce the items of records (rows loaded after re-clustering) whose cluster changed."""
    by_institution: dict[str, dict[int, RecordState]] = {}
    for record_id, row in rows.items():
        by_institution.setdefault(row.institution, {})[record_id] = RecordState.of(
            record_id, row.local_id, row.cluster_id, RecordDescription.from_dict(row.description))
    clusters: set[int] = set()
    for code, states in by_institution.items():
        clusters |= await reconcile(uow, code, now, {}, states, states)
    return clusters


async def withdraw_all(uow: UnitOfWork, now: datetime, record: RecordState) -> bool:
    """Withdraw every item of a deleted record; whether there were any."""
    repo = HoldingRepository(uow.session)
    rows = await repo.of_records([record.record_id])
    for row in rows:
        _publish(uow, row, record, "withdrawn", row.version + 1)
    await repo.withdraw(rows, now)
    return bool(rows)


class HoldingNotFound(NotFound):
    pass


async def update_holding(uow: UnitOfWork, actor: Principal, institution: str, item_id: str, status: str,
                         due_date: date | None, now: datetime) -> dict[str, Any]:
    """Circulation update of one item (`PUT /catalog/holdings/...`); publishes an event if anything changed."""
    actor.require_institution(institution)
    if (status == "on-loan") != (due_date is not None):
        raise InvalidField("due_date", "an on-loan item needs a due_date" if due_date is None
                           else "only an on-loan item has a due_date")
    await require_known(uow.session, institution)
    await lock_for_writing(uow.session)
    repo = HoldingRepository(uow.session)
    row = (await repo.by_items(institution, [item_id])).get(item_id)
    if row is None:
        raise HoldingNotFound(f"{institution} has no item {item_id!r}")
    if row.status == status and row.due_date == due_date:
        return dict(row._mapping)
    record_row = (await RecordRepository(uow.session).load([row.record_id]))[row.record_id]
    record = RecordState.of(row.record_id, record_row.local_id, record_row.cluster_id,
                            RecordDescription.from_dict(record_row.description))
    values = {**dict(row._mapping), "status": status, "due_date": due_date, "updated_at": now,
              "version": row.version + 1}
    await repo.update([{"holding_id": row.id, "status": status, "due_date": due_date, "updated_at": now,
                        "version": row.version + 1}])
    _publish(uow, values, record, "changed", row.version + 1)
    if record.cluster_id:
        await reindex_clusters(uow.session, [record.cluster_id])
    return values


def summarize(rows: Sequence[Any], holders: dict[str, Any]) -> list[dict[str, Any]]:
    """Holdings grouped per institution with live availability (`is_available`, the rule search applies), for the
    cluster view; a suspended institution's items stay listed (for staff), none of them available. The holders are
    the institutions with items, as in search and the OAI-PMH sets: a member record stating no items (the library's
    last copy withdrawn, a record on order) is listed among the members, not as a holder."""
    suspended = {code for code, holder in holders.items() if holder.status == SUSPENDED}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.institution, []).append({
            "item_id": row.item_id, "local_id": row.local_id, "location": row.location,
            "call_number": row.call_number, "format": row.format, "status": row.status, "due_date": row.due_date,
            "ill_copy_allowed": row.ill_copy_allowed,
            "available": is_available(row.status, row.format, row.ill_copy_allowed, row.institution in suspended)})
    result = []
    for code, items in sorted(grouped.items()):
        holder = holders.get(code)
        result.append({"institution": code, "name_en": holder.name_en if holder else None,
                       "name_zh": holder.name_zh if holder else None, "items": items,
                       "suspended": code in suspended, "available_count": sum(1 for i in items if i["available"])})
    return result

