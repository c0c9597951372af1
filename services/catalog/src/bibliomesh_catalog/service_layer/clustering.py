"""Keeping clusters right as records come, change and go.

A change to some records ("seeds") re-evaluates every cluster they touch: the records sharing a key with a seed,
every member of those records' clusters, (for updates, deletes and overrides) one hop further, and the records
named by staff overrides. Those clusters are rebuilt from scratch with `build_clusters`, so a cluster splits as
soon as the link that held it together is gone. Each new component keeps the id of the old cluster holding most
of its members; the others are marked deleted (with `merged_into`). A key value shared by more than
`MAX_KEY_FANOUT` records is not used to find candidates (a bogus ISBN printed in many books must not glue them).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bibliomesh_catalog.adapters.cluster_repository import ClusterRepository
from bibliomesh_catalog.adapters.record_repository import RecordRepository
from bibliomesh_catalog.domain.matching import build_clusters, profile_of
from bibliomesh_catalog.domain.merge import merge_display
from bibliomesh_catalog.domain.records import RecordDescription
from bibliomesh_contracts.events.catalog import ClusterChangedV1, ClusterMember
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
MAX_KEY_FANOUT = 50
MAX_NODES = 2000


@dataclass
class ClusterOutcome:
    """Where the re-evaluated records ended up, and which clusters changed (for events and the search index)."""

    assignments: dict[int, int] = field(default_factory=dict)
    moved: set[int] = field(default_factory=set)
    changed: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)


def cluster_event(cluster_id: int, display: dict[str, Any], format_: str, work_id: int | None,
                  members: Iterable[tuple[str, str, str | None]], *, deleted: bool = False,
                  merged_into: int | None = None) -> ClusterChangedV1:
    """The `catalog.cluster.changed` payload of a cluster."""
    return ClusterChangedV1(
        cluster_id=cluster_id, status="deleted" if deleted else "active", merged_into=merged_into, format=format_,
        work_id=work_id, title=display.get("title") or "", year=display.get("year"),
        isbns=display.get("isbns") or [], issns=display.get("issns") or [],
        oclc_numbers=display.get("oclc_numbers") or [],
        members=[ClusterMember(institution=i, local_id=lid, joined_by=key) for i, lid, key in members])


class Clusterer:
    """Re-evaluates clusters inside the caller's unit of work (which already holds the write lock)."""

    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self.uow = uow
        self.now = now
        self.records = RecordRepository(uow.session)
        self.clusters = ClusterRepository(uow.session)

    async def recluster(self, seeds: Collection[int], *, extra_clusters: Collection[int] = (),
                        dirty: Collection[int] = (), deep: bool = False) -> ClusterOutcome:
        """Rebuild the clusters around `seeds`; `dirty` records changed their description (display refresh);
        `extra_clusters` lost members and must be rebuilt too."""
        nodes = await self._expand(set(seeds), set(extra_clusters), deep)
        rows = {i: r for i, r in (await self.records.load(nodes)).items() if r.deleted_at is None}
        descriptions = {i: RecordDescription.from_dict(r.description) for i, r in rows.items()}
        profiles = {i: profile_of(i, d) for i, d in descriptions.items()}
        pairs = _pairs(await self.records.keys_of(rows))
        links, splits = await self._overrides(rows)
        plan = build_clusters(profiles, pairs, links, splits)
        outcome = ClusterOutcome()
        current = {i: r.cluster_id for i, r in rows.items()}
        old_ids = {c for c in current.values() if c} | set(extra_clusters)
        old = await self.clusters.load(old_ids)
        chosen: list[int | None] = []
        taken: set[int] = set()
        for component in plan.components:
            counts = Counter(current[n] for n in component if current[n] in old and old[current[n]].deleted_at is None)
            pick = next((c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c not in taken), None)
            chosen.append(pick)
            if pick is not None:
                taken.add(pick)
        fresh = [i for i, pick in enumerate(chosen) if pick is None]
        new_ids = await self.clusters.create([
            {"format": profiles[plan.components[i][0]].format, "display": {}, "member_count": 0,
             "updated_at": self.now, "version": 0, "work_id": None} for i in fresh])
        for index, cluster_id in zip(fresh, new_ids, strict=True):
            chosen[index] = cluster_id
        cluster_of_component = [c for c in chosen if c is not None]
        work = await self._work_ids(plan.same_work, plan.components, cluster_of_component, old)
        dirty_set = set(dirty)
        updates: list[dict[str, Any]] = []
        record_updates: list[dict[str, Any]] = []
        by_cluster: dict[int | None, set[int]] = defaultdict(set)
        for node, cluster in current.items():
            by_cluster[cluster].add(node)
        for component, cluster_id in zip(plan.components, cluster_of_component, strict=True):
            before = by_cluster.get(cluster_id, set())
            for node in component:
                joined = plan.joined_by.get(node) if len(component) > 1 else None
                outcome.assignments[node] = cluster_id
                if current[node] != cluster_id or rows[node].match_key != joined:
                    record_updates.append({"record_id": node, "cluster_id": cluster_id, "match_key": joined})
                    if current[node] != cluster_id:
                        outcome.moved.add(node)
            previous = old.get(cluster_id)
            new_work = work.get(cluster_id)
            # member_count catches a member withdrawn before this call (it is no longer among the live rows)
            unchanged = (previous is not None and before == set(component) and not dirty_set & set(component)
                         and previous.member_count == len(component) and previous.work_id == new_work
                         and previous.deleted_at is None)
            if unchanged:
                continue
            display = merge_display([(n, descriptions[n]) for n in component], profiles[component[0]].format)
            version = (previous.version if previous is not None else 0) + 1
            updates.append({"cluster_id": cluster_id, "format": profiles[component[0]].format, "display": display,
                            "member_count": len(component), "work_id": new_work, "deleted_at": None,
                            "updated_at": self.now, "version": version})
            outcome.changed.add(cluster_id)
            members = [(rows[n].institution, rows[n].local_id, plan.joined_by.get(n) if len(component) > 1 else None)
                       for n in component]
            self.uow.publish(cluster_event(cluster_id, display, profiles[component[0]].format, new_work, members),
                             aggregate_id=f"cluster:{cluster_id}", aggregate_version=version)
        for cluster_id in sorted(old_ids - set(cluster_of_component)):
            previous = old.get(cluster_id)
            if previous is None or previous.deleted_at is not None:
                continue
            former = sorted(by_cluster.get(cluster_id, ()))
            merged_into = Counter(outcome.assignments[n] for n in former).most_common(1)[0][0] if former else None
            updates.append({"cluster_id": cluster_id, "format": previous.format, "display": previous.display,
                            "member_count": 0, "work_id": previous.work_id, "deleted_at": self.now,
                            "updated_at": self.now, "version": previous.version + 1})
            outcome.deleted.add(cluster_id)
            self.uow.publish(cluster_event(cluster_id, previous.display, previous.format, previous.work_id, [],
                                           deleted=True, merged_into=merged_into),
                             aggregate_id=f"cluster:{cluster_id}", aggregate_version=previous.version + 1)
        await self.clusters.update(updates)
        await self.records.update(record_updates)
        return outcome

    async def _expand(self, nodes: set[int], extra_clusters: set[int], deep: bool) -> set[int]:
        frontier = set(nodes)
        for hop in range(2 if deep else 1):
            keys = await self.records.keys_of(frontier)
            neighbours = {r for r, _, _ in _within_fanout(await self.records.sharing({(k, v) for _, k, v in keys}))}
            rows = await self.records.refs(neighbours | frontier)
            cluster_ids = {r.cluster_id for r in rows.values() if r.cluster_id}
            members = set(await self.records.members(cluster_ids | (extra_clusters if hop == 0 else set())))
            frontier = (neighbours | members) - nodes
            nodes |= neighbours | members
            if not frontier or len(nodes) > MAX_NODES:
                break
        rows = await self.records.refs(nodes)
        refs = {(r.institution, r.local_id) for r in rows.values()}
        named = {ref for o in await self.clusters.overrides_involving(refs) if o.decision == "link"
                 for ref in ((o.a_institution, o.a_local_id), (o.b_institution, o.b_local_id))}
        linked = set((await self.records.ids_of(named - refs)).values())
        if linked:
            linked_rows = await self.records.refs(linked)
            nodes |= linked | set(await self.records.members({r.cluster_id for r in linked_rows.values()
                                                              if r.cluster_id}))
        if len(nodes) > MAX_NODES:
            log.warning("cluster re-evaluation is large", extra={"records": len(nodes)})
        return nodes

    async def _overrides(self, rows: dict[int, Any]) -> tuple[set[tuple[int, int]], set[frozenset[int]]]:
        by_ref = {(r.institution, r.local_id): i for i, r in rows.items()}
        links: set[tuple[int, int]] = set()
        splits: set[frozenset[int]] = set()
        for override in await self.clusters.overrides_involving(by_ref):
            a = by_ref.get((override.a_institution, override.a_local_id))
            b = by_ref.get((override.b_institution, override.b_local_id))
            if a is None or b is None or a == b:
                continue
            if override.decision == "link":
                links.add((min(a, b), max(a, b)))
            else:
                splits.add(frozenset((a, b)))
        return links, splits

    async def _work_ids(self, same_work: list[tuple[int, int]], components: list[list[int]],
                        cluster_ids: list[int], old: dict[int, Any]) -> dict[int, int | None]:
        """Print and electronic clusters of one work share the smallest id among them as `work_id`."""
        of_node = {component[0]: cluster for component, cluster in zip(components, cluster_ids, strict=True)}
        groups: dict[int, set[int]] = {c: {c} for c in cluster_ids}
        for a, b in same_work:
            merged = groups[of_node[a]] | groups[of_node[b]]
            for member in merged:
                groups[member] = merged
        previous = {c: old[c].work_id for c in cluster_ids if c in old and old[c].work_id}
        external = await self.clusters.in_work(set(previous.values()), excluding=set(cluster_ids))
        result: dict[int, int | None] = {}
        remap: dict[int, int] = {}
        for cluster_id in cluster_ids:
            group = groups[cluster_id]
            olds = {previous[c] for c in group if c in previous}
            linked_outside = any(external.get(w) for w in olds)
            if len(group) == 1 and not linked_outside:
                result[cluster_id] = None
                continue
            work_id = min(group | olds)
            result[cluster_id] = work_id
            remap.update({w: work_id for w in olds if w != work_id})
        moved = [{"cluster_id": c, "work_id": remap[w]} for w, ids in external.items() if w in remap for c in ids]
        await self.clusters.update(moved)
        return result


def _within_fanout(found: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    counts = Counter((k, v) for _, k, v in found)
    return [(r, k, v) for r, k, v in found if counts[(k, v)] <= MAX_KEY_FANOUT]


def _pairs(keys: list[tuple[int, str, str]]) -> set[tuple[int, int]]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for record_id, kind, value in keys:
        groups[(kind, value)].append(record_id)
    pairs: set[tuple[int, int]] = set()
    for ids in groups.values():
        if 1 < len(ids) <= MAX_KEY_FANOUT:
            ordered = sorted(ids)
            pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:])
    return pairs

