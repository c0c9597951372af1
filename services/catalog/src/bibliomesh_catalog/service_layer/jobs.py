"""What this process's background jobs share: its name among the replicas and how long their leases last."""

from __future__ import annotations

from bibliomesh_catalog.adapters.leases import new_owner_id
from meshkit.runtime import ServiceRuntime

REPLICA_KEY = "catalog.replica_id"
DEFAULT_LEASE_SECONDS = 60.0


def replica_id(runtime: ServiceRuntime) -> str:
    """The lease owner name of this process (one per runtime, so two apps in one process are two replicas)."""
    owner: str = runtime.extra.setdefault(REPLICA_KEY, new_owner_id())
    return owner


def lease_seconds(runtime: ServiceRuntime) -> float:
    return float(getattr(runtime.settings, "job_lease_seconds", DEFAULT_LEASE_SECONDS))
