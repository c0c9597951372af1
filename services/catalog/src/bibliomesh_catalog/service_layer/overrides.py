"""Staff decisions that override matching: "these two are the same edition" (link) or "they are not" (split).

Who may decide: a caller with the `catalog:write` scope and the `staff` or `institution-admin` role, about a pair
of which at least one record is their own institution's; a platform admin about any pair. A library is
accountable for how its own records cluster, and deciding that its record is (or is not) the same book as
another library's record is exactly that; a pair of two other institutions' records is not its business.
Decisions are stored by (institution, local id), so they survive re-ingest, and the latest one about a pair wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bibliomesh_catalog.adapters.cluster_repository import ClusterRepository
from bibliomesh_catalog.adapters.record_repository import RecordRepository, lock_for_writing
from bibliomesh_catalog.adapters.search_index import reindex_clusters
from bibliomesh_catalog.service_layer import holdings
from bibliomesh_catalog.service_layer.clustering import Clusterer
from bibliomesh_catalog.service_layer.directory import require_known
from meshkit.problems import Forbidden, NotFound, Problem
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

STAFF_ROLES = frozenset({"staff", "institution-admin"})
Decision = Literal["link", "split"]


@dataclass(frozen=True)
class RecordRef:
    """A member record named by its institution and local id."""

    institution: str
    local_id: str


def may_decide(actor: Principal, a: RecordRef, b: RecordRef) -> str | None:
    """None if `actor` may decide about this pair, else why not (the rule in the module docstring)."""
    if actor.is_platform_admin:
        return None
    if not actor.roles & STAFF_ROLES:
        return "only library staff (role staff or institution-admin) may link or split records"
    if actor.institution not in (a.institution, b.institution):
        return f"a decision by {actor.institution} must concern at least one of its own records"
    return None


async def decide(uow: UnitOfWork, actor: Principal, a: RecordRef, b: RecordRef, decision: Decision,
                 reason: str | None) -> dict[str, int | None]:
    """Store the decision, re-cluster both records at once, and return each one's cluster id."""
    refusal = may_decide(actor, a, b)
    if refusal:
        raise Forbidden(refusal)
    if a == b:
        raise Problem("a record cannot be linked to or split from itself", status=422)
    await require_known(uow.session, a.institution, b.institution)
    await lock_for_writing(uow.session)
    records = RecordRepository(uow.session)
    ids = await records.ids_of({(a.institution, a.local_id), (b.institution, b.local_id)})
    missing = [f"{r.institution}/{r.local_id}" for r in (a, b) if (r.institution, r.local_id) not in ids]
    if missing:
        raise NotFound(f"no such record: {', '.join(missing)}")
    now = datetime.now(UTC)
    await ClusterRepository(uow.session).decide(((a.institution, a.local_id), (b.institution, b.local_id)), decision,
                                                actor.subject, reason, now)
    pair = {ids[(a.institution, a.local_id)], ids[(b.institution, b.local_id)]}
    rows = await records.load(pair)
    outcome = await Clusterer(uow, now).recluster(
        pair, extra_clusters={r.cluster_id for r in rows.values() if r.cluster_id}, deep=True)
    moved = await holdings.reannounce(uow, now, await records.load(outcome.moved)) if outcome.moved else set()
    await reindex_clusters(uow.session, sorted(outcome.changed | outcome.deleted | moved))
    return {"a": outcome.assignments.get(ids[(a.institution, a.local_id)]),
            "b": outcome.assignments.get(ids[(b.institution, b.local_id)])}
