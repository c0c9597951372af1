"""Registering an institution's OAI-PMH source and asking for harvests.

Who may: library staff (role `staff` or `institution-admin`) of the institution, or a platform admin; the route
also requires the `catalog:write` scope. The base URL must be http(s) on a public address (`source_addresses`).
Changing where or what is harvested (base URL, set, format) starts the next harvest from the beginning, at once: a
harvest of the old target still running stops at its next page without writing its cursor or schedule. A new or
re-enabled source is due at once. A disabled source is not harvested on its schedule, but a requested run still
happens. Removing a source keeps the records it brought.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bibliomesh_catalog.adapters.harvest_repository import QUEUED, HarvestRepository, next_target
from bibliomesh_catalog.service_layer.directory import require_known
from bibliomesh_catalog.service_layer.overrides import STAFF_ROLES
from bibliomesh_catalog.service_layer.source_addresses import check_base_url
from meshkit.problems import Forbidden, NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

_WHAT_IS_HARVESTED = ("base_url", "set_spec", "metadata_prefix")


@dataclass(frozen=True)
class SourceConfig:
    base_url: str
    metadata_prefix: str | None
    set_spec: str | None
    interval_minutes: int
    enabled: bool


def may_manage(actor: Principal, institution: str) -> str | None:
    """None if `actor` may configure and run `institution`'s harvesting, else why not."""
    if actor.is_platform_admin:
        return None
    if actor.institution != institution:
        return f"a token for {actor.institution} cannot manage the harvesting of {institution}"
    if not actor.roles & STAFF_ROLES:
        return "only library staff (role staff or institution-admin) may manage harvesting"
    return None


def require_manager(actor: Principal, institution: str) -> None:
    refusal = may_manage(actor, institution)
    if refusal:
        raise Forbidden(refusal)


async def register(uow: UnitOfWork, actor: Principal, institution: str, config: SourceConfig, *,
                   allow_private: bool) -> bool:
    """Create or update the source; True if it was created. A new or changed base URL is checked (an unchanged
    one is not, so a source whose host went private can still be disabled: its runs fail)."""
    require_manager(actor, institution)
    await require_known(uow.session, institution)
    now = datetime.now(UTC)
    repository = HarvestRepository(uow.session)
    current = await repository.source(institution)
    if current is None or current["base_url"] != config.base_url:
        await uow.release_connection()  # no connection held while the host is resolved
        await check_base_url(config.base_url, allow_private=allow_private)
        current = await repository.source(institution)  # as it is now: it may have changed meanwhile
    values: dict[str, Any] = {**vars(config), "updated_by": actor.subject[:300], "updated_at": now}
    if current is None:
        await repository.add_source({**values, "institution": institution, "next_run_at": now})
        return True
    if any(current[name] != values[name] for name in _WHAT_IS_HARVESTED):
        values["last_datestamp"] = None
        values["next_run_at"] = now
        values["target_version"] = next_target()  # a harvest running now stops writing its cursor (`harvest`)
    elif config.enabled and not current["enabled"]:
        values["next_run_at"] = now
    await repository.update_source(institution, **values)
    return False


async def source_state(uow: UnitOfWork, actor: Principal, institution: str) -> dict[str, Any]:
    """The source, whether a harvest holds it now, and its latest run."""
    require_manager(actor, institution)
    repository = HarvestRepository(uow.session)
    source = await repository.source(institution)
    if source is None:
        raise NotFound(f"{institution} has no harvest source")
    runs = await repository.runs(institution, limit=1)
    expires = source["lease_expires_at"]
    running = source["lease_owner"] is not None and expires is not None and _aware(expires) > datetime.now(UTC)
    return {**source, "running": running, "last_run": runs[0] if runs else None}


async def remove(uow: UnitOfWork, actor: Principal, institution: str) -> None:
    """Delete the source; runs asked for and not started fail, a running one stops at its next page."""
    require_manager(actor, institution)
    repository = HarvestRepository(uow.session)
    if not await repository.delete_source(institution):
        raise NotFound(f"{institution} has no harvest source")
    await repository.fail_queued(institution, "the harvest source was removed", datetime.now(UTC))


async def request_run(uow: UnitOfWork, actor: Principal, institution: str) -> dict[str, Any]:
    """Queue a harvest (or return the one already queued); the background loop starts it."""
    require_manager(actor, institution)
    repository = HarvestRepository(uow.session)
    if await repository.source(institution) is None:
        raise NotFound(f"{institution} has no harvest source")
    queued = await repository.oldest_in(institution, QUEUED)
    if queued is not None:
        return queued
    run_id = str(uuid.uuid4())
    await repository.add_run({"id": run_id, "institution": institution, "trigger": "request", "status": QUEUED,
                              "requested_by": actor.subject[:300], "requested_at": datetime.now(UTC)})
    run = await repository.run(run_id)
    assert run is not None
    return run


async def run_of(uow: UnitOfWork, actor: Principal, institution: str, run_id: str) -> dict[str, Any]:
    require_manager(actor, institution)
    run = await HarvestRepository(uow.session).run(run_id)
    if run is None or run["institution"] != institution:
        raise NotFound(f"{institution} has no harvest run {run_id}")
    return run


async def runs_of(uow: UnitOfWork, actor: Principal, institution: str, limit: int) -> list[dict[str, Any]]:
    require_manager(actor, institution)
    return await HarvestRepository(uow.session).runs(institution, limit)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

