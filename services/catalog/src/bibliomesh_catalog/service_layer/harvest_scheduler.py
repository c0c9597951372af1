"""Running due harvests: on a schedule, on request, one replica per source at a time.

A source is due when it is enabled and its `next_run_at` came, or when someone asked for a run (a `queued` run).
A replica runs it only after claiming the source's lease with a conditional UPDATE that also re-checks that it is
still due, so of two replicas (or two loops) only one harvests it, and a source just harvested by another replica
is not harvested again. The claim also fails the runs a replica whose lease ran out left `running`. The lease is
renewed by a heartbeat while the harvest runs and released at its end, when the next run is scheduled.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bibliomesh_catalog.adapters.harvest_repository import (
    FAILED,
    QUEUED,
    RUNNING,
    SOURCE_LEASE,
    SUCCEEDED,
    HarvestRepository,
    is_due,
    targets,
)
from bibliomesh_catalog.adapters.leases import LeaseLost, heartbeat
from bibliomesh_catalog.adapters.oai_client import HarvestError
from bibliomesh_catalog.adapters.tables import harvest_runs
from bibliomesh_catalog.service_layer.harvest import SourceChanged, harvest
from bibliomesh_catalog.service_layer.jobs import lease_seconds, replica_id
from meshkit.runtime import ServiceRuntime

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the catalogue replica running it stopped (its lease ran out); the next run resumes"
CANCELLED = "cancelled: the catalogue shut down during the harvest; the next run resumes"
LOST = "stopped: the source was removed, or its lease ran out and another replica took it over"
MOVED = "stopped: the source's base URL, set or format changed; the next run starts from the beginning"


async def due_sources(runtime: ServiceRuntime, limit: int = 20) -> list[str]:
    async with runtime.unit_of_work() as uow:
        return await HarvestRepository(uow.session).due(datetime.now(UTC), limit)


async def harvest_due(runtime: ServiceRuntime) -> list[str]:
    """Harvest every due source this replica can claim, one after the other; returns the runs it finished."""
    done = []
    for institution in await due_sources(runtime):
        run_id = await harvest_source(runtime, institution)
        if run_id is not None:
            done.append(run_id)
    return done


async def _claim(runtime: ServiceRuntime, institution: str, owner: str) -> tuple[dict[str, Any], str] | None:
    """Take the source's lease if it is due and free; start its queued run (or a scheduled one)."""
    now = datetime.now(UTC)
    async with runtime.unit_of_work() as uow:
        repository = HarvestRepository(uow.session)
        if not await SOURCE_LEASE.claim(uow.session, institution, owner, lease_seconds(runtime), is_due(now)):
            return None
        source = await repository.source(institution)
        assert source is not None
        stale = await repository.fail_running(institution, INTERRUPTED, now)
        queued = await repository.oldest_in(institution, QUEUED)
        if queued is not None:
            run_id = queued["id"]
            await repository.update_run(run_id, status=RUNNING, started_at=now)
        else:
            run_id = str(uuid.uuid4())
            await repository.add_run({"id": run_id, "institution": institution, "trigger": "schedule",
                                      "status": RUNNING, "requested_by": "schedule", "requested_at": now,
                                      "started_at": now})
        await uow.commit()
    if stale:
        log.warning("interrupted harvests marked failed", extra={"institution": institution, "runs": stale})
    return source, run_id


async def harvest_source(runtime: ServiceRuntime, institution: str) -> str | None:
    """Run one harvest of the source if this replica can claim it; returns the run id, None if not claimed."""
    owner = replica_id(runtime)
    claimed = await _claim(runtime, institution, owner)
    if claimed is None:
        return None
    source, run_id = claimed
    log.info("harvest started", extra={"institution": institution, "run": run_id})
    try:
        async with heartbeat(runtime.sessions, SOURCE_LEASE, institution, owner, lease_seconds(runtime)) as beat:
            cursor = await harvest(runtime, source, run_id, owner, beat)
    except asyncio.CancelledError:
        await _finish(runtime, source, run_id, owner, None, CANCELLED)
        raise
    except LeaseLost:
        log.warning("harvest stopped: the source was removed or another replica holds it now",
                    extra={"institution": institution})
        await _finish(runtime, source, run_id, owner, None, LOST)
    except SourceChanged:
        log.info("harvest stopped: the source was changed", extra={"institution": institution, "run": run_id})
        await _finish(runtime, source, run_id, owner, None, MOVED)
    except HarvestError as exc:
        await _finish(runtime, source, run_id, owner, None, str(exc)[:2000])
    except Exception as exc:
        log.exception("harvest failed", extra={"institution": institution, "run": run_id})
        await _finish(runtime, source, run_id, owner, None, f"{type(exc).__name__}: {exc}"[:2000])
    else:
        await _finish(runtime, source, run_id, owner, cursor, None)
    return run_id


async def _finish(runtime: ServiceRuntime, claimed: dict[str, Any], run_id: str, owner: str, cursor: str | None,
                  failure: str | None) -> None:
    """Record the outcome and release the lease (if it is still ours); schedule the next run and move the cursor
    only if the source still harvests what it did when `claimed`: a changed one keeps the fresh start that
    `harvest_sources.register` gave it."""
    institution = claimed["institution"]
    now = datetime.now(UTC)
    status = FAILED if failure else SUCCEEDED
    try:
        async with runtime.unit_of_work() as uow:
            repository = HarvestRepository(uow.session)
            source = await repository.source(institution)
            await repository.update_run(run_id, harvest_runs.c.status == RUNNING, status=status, failure=failure,
                                        finished_at=now)
            if source is not None:
                schedule: dict[str, Any] = {"next_run_at": now + timedelta(minutes=source["interval_minutes"])}
                if cursor is not None:
                    schedule["last_datestamp"] = cursor
                held = SOURCE_LEASE.held_by(owner)
                await repository.update_source(institution, held, targets(claimed["target_version"]), **schedule)
                await repository.update_source(institution, held, last_run_at=now, last_status=status,
                                               last_error=failure, lease_owner=None, lease_expires_at=None)
            await uow.commit()
    except Exception:
        log.exception("could not record the end of a harvest", extra={"institution": institution, "run": run_id})
        return
    log.info("harvest finished", extra={"institution": institution, "run": run_id, "status": status,
                                        "failure": failure})
