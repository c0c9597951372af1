from bibliomesh_contracts.events.catalog.clusters import ClusterChangedV1, ClusterMember
from bibliomesh_contracts.events.catalog.holdings import HoldingsChangedV1, HoldingStatus
from bibliomesh_contracts.events.catalog.imports import ImportFinishedV1
from bibliomesh_contracts.events.catalog.records import RecordDeletedV1, RecordUpsertedV1

__all__ = [
    "ClusterChangedV1",
    "ClusterMember",
    "HoldingStatus",
    "HoldingsChangedV1",
    "ImportFinishedV1",
    "RecordDeletedV1",
    "RecordUpsertedV1",
]
