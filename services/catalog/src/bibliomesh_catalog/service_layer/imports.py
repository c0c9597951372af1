"""Bulk imports: a large file is spooled to disk, then parsed and stored in batches by a background task that
reports its progress on the job row after every batch. The service's parsing process (`parsing/worker.py`) parses
and prepares (`ingest.prepare_batch`) the next batch while this one is stored.

The replica running a job holds its lease (`adapters/leases.py`) and renews it by a heartbeat; every batch is
written only while it still holds it. A job whose heartbeat stopped (its replica crashed or was killed) is failed
by whichever replica notices first (`recover_interrupted`, run by the background loop and before the first
imports request); a job with a live heartbeat, here or on another replica, is left alone. Resuming is not
attempted: the spool file lived on the replica that died, so the file has to be imported again (which leaves
the records already stored `unchanged`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bibliomesh_catalog.adapters.import_repository import FAILED, IMPORT_LEASE, RUNNING, SUCCEEDED, ImportRepository
from bibliomesh_catalog.adapters.leases import LeaseLost, heartbeat
from bibliomesh_catalog.parsing import Parser
from bibliomesh_catalog.parsing.worker import ParsingWorker
from bibliomesh_catalog.service_layer.directory import require_known
from bibliomesh_catalog.service_layer.ingest import ingest_records, prepare_batch
from bibliomesh_catalog.service_layer.jobs import lease_seconds, replica_id
from bibliomesh_contracts.events.catalog import ImportFinishedV1
from meshkit.problems import ContentTooLarge, Problem
from meshkit.runtime import ServiceRuntime
from meshkit.security import Principal
from meshkit.spool import SpoolBudget
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
BATCH_SIZE = 500
MAX_ERRORS = 100
TASKS_KEY = "catalog.import_tasks"
WORKER_KEY = "catalog.parsing_worker"
RECOVERED_KEY = "catalog.imports_recovered"
BUDGET_KEY = "catalog.import_spool_budget"
SWEPT_KEY = "catalog.import_spool_swept"
INTERRUPTED = ("interrupted: the catalogue replica running it stopped before it finished (its heartbeat ran out); "
               "import the file again")


@dataclass
class Spooled:
    path: Path
    sha256: str
    size: int


def import_dir(runtime: ServiceRuntime) -> Path:
    directory = Path(runtime.settings.data_dir) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def spool(chunks: AsyncIterable[bytes], directory: Path, limit: int) -> Spooled:
    """Write the chunks to a new file under `directory` one by one, hashing them on the way; over `limit` bytes the
    file is removed and `ContentTooLarge` raised."""
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=directory, prefix="import-", suffix=".part")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                if chunk:
                    digest.update(chunk)
                    size += len(chunk)
                    if size > limit:
                        raise too_large(limit)
                    out.write(chunk)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return Spooled(path, digest.hexdigest(), size)


def too_large(limit: int) -> ContentTooLarge:
    return ContentTooLarge(f"the file is larger than the {limit} bytes an import may be")


class SpoolFull(Problem):
    status = 503


def busy() -> SpoolFull:
    return SpoolFull("the catalogue is busy with other imports; try again shortly", headers={"Retry-After": "30"})


def spool_budget(runtime: ServiceRuntime, total: int) -> SpoolBudget:
    """The bytes of import files this replica may hold at once (`CATALOG_IMPORT_SPOOL_BYTES`; made with `total`
    bytes on first use): an upload reserves what it may still write, and a spooled file counts until its import
    ends. It starts from 0: the process's first `recover_interrupted` removes what an earlier process left in the
    spool directory (an emptyDir volume outlives a restarted container)."""
    budget: SpoolBudget | None = runtime.extra.get(BUDGET_KEY)
    if budget is None:
        budget = runtime.extra[BUDGET_KEY] = SpoolBudget(total, busy)
    return budget


async def spool_within_budget(runtime: ServiceRuntime, chunks: AsyncIterable[bytes], declared: int | None,
                              limit: int, budget_bytes: int) -> Spooled:
    """`spool` under both limits: `limit` for one file (413) and the replica's spool budget of `budget_bytes` (503).
    The file's bytes stay counted in the budget until `start_import`'s task ends (or `release_spooled`)."""
    budget = spool_budget(runtime, budget_bytes)
    reserved = budget.reserve(min(declared, limit), or_less=False) if declared is not None \
        else budget.reserve(limit, or_less=True)
    try:
        spooled = await spool(chunks, import_dir(runtime), min(limit, reserved))
    except ContentTooLarge:
        budget.release(reserved)
        if reserved < limit:  # the budget ran out first, not the file's own limit
            raise busy() from None
        raise
    except BaseException:
        budget.release(reserved)
        raise
    budget.release(reserved - spooled.size)
    return spooled


def release_spooled(runtime: ServiceRuntime, spooled: Spooled) -> None:
    budget: SpoolBudget | None = runtime.extra.get(BUDGET_KEY)
    if budget is not None:
        budget.release(spooled.size)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def describe(job: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The job row plus its rate (records/s), estimated seconds left and failure reason."""
    now = now or datetime.now(UTC)
    started, finished = _aware(job["started_at"]), _aware(job["finished_at"])
    elapsed = max(((finished or now) - started).total_seconds(), 1e-3) if started else None
    rate = round(job["records_read"] / elapsed, 1) if elapsed else None
    left: float | None = None
    if job["status"] != RUNNING:
        left = 0.0
    elif elapsed and job["bytes_read"] and job["bytes_total"]:
        left = round(max(job["bytes_total"] - job["bytes_read"], 0) / (job["bytes_read"] / elapsed), 1)
    errors = list(job["errors"] or [])
    failure = next((e["reason"] for e in reversed(errors) if e.get("position") is None), None) \
        if job["status"] == FAILED else None
    return {**job, "started_at": started, "finished_at": finished, "errors": errors,
            "rate": rate, "estimated_seconds_left": left, "failure": failure}


async def require_known_institution(runtime: ServiceRuntime, institution: str) -> None:
    """409 before a byte is spooled if the directory copy does not know `institution` (`directory.require_known`)."""
    async with runtime.unit_of_work() as uow:
        await require_known(uow.session, institution)


async def create_job(runtime: ServiceRuntime, institution: str, media_type: str, filename: str | None,
                     spooled: Spooled, actor: Principal) -> dict[str, Any]:
    job: dict[str, Any] = {
           "id": str(uuid.uuid4()), "institution": institution, "filename": filename, "media_type": media_type,
           "status": RUNNING, "file_sha256": spooled.sha256, "bytes_total": spooled.size, "bytes_read": 0,
           "records_read": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "errors": [],
           "created_by": actor.subject[:300], "started_at": datetime.now(UTC), "finished_at": None}
    async with runtime.unit_of_work() as uow:
        await ImportRepository(uow.session).add(
            {**job, **IMPORT_LEASE.values(replica_id(runtime), lease_seconds(runtime))})
        await uow.commit()
    return job


def start_import(runtime: ServiceRuntime, job: dict[str, Any], parser: Parser, spooled: Spooled,
                 actor: Principal) -> asyncio.Task[None]:
    """Run the import in a task kept on the runtime (so it is not garbage collected mid-way)."""
    tasks: dict[str, asyncio.Task[None]] = runtime.extra.setdefault(TASKS_KEY, {})
    task = asyncio.create_task(run_import(runtime, job["id"], job["institution"], parser, spooled.path, actor),
                               name=f"catalog-import-{job['id']}")
    tasks[job["id"]] = task

    def done(_task: asyncio.Task[None]) -> None:
        tasks.pop(job["id"], None)
        release_spooled(runtime, spooled)

    task.add_done_callback(done)
    return task


def parsing_worker(runtime: ServiceRuntime) -> ParsingWorker:
    """The service's parsing process (started on first use, stopped by `cancel_running`)."""
    worker: ParsingWorker = runtime.extra.setdefault(WORKER_KEY, ParsingWorker())
    return worker


async def run_import(runtime: ServiceRuntime, job_id: str, institution: str, parser: Parser, path: Path,
                     actor: Principal) -> None:
    owner = replica_id(runtime)
    totals = {"records_read": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    errors: list[dict[str, Any]] = []
    try:
        async with heartbeat(runtime.sessions, IMPORT_LEASE, job_id, owner, lease_seconds(runtime)):
            await _store_batches(runtime, job_id, owner, institution, parser, path, actor, totals, errors)
        async with runtime.unit_of_work() as uow:
            if not await ImportRepository(uow.session).update_held(
                    job_id, owner, status=SUCCEEDED, finished_at=datetime.now(UTC), lease_owner=None,
                    lease_expires_at=None, bytes_read=await asyncio.to_thread(os.path.getsize, path)):
                raise LeaseLost(job_id)
            await _announce(uow, job_id)
            await uow.commit()
    except asyncio.CancelledError:
        await _fail(runtime, job_id, owner, errors, "cancelled: the catalogue shut down during the import")
        raise
    except LeaseLost:
        log.warning("import stopped: its lease ran out and another replica failed it", extra={"job": job_id})
    except Exception as exc:
        log.exception("import failed", extra={"job": job_id})
        await _fail(runtime, job_id, owner, errors, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def _store_batches(runtime: ServiceRuntime, job_id: str, owner: str, institution: str, parser: Parser,
                         path: Path, actor: Principal, totals: dict[str, int], errors: list[dict[str, Any]]) -> None:
    batches = parsing_worker(runtime).batches(parser, path, BATCH_SIZE, prepare_batch)
    async with aclosing(batches):
        async for batch, position in batches:
            async with runtime.unit_of_work() as uow:
                results = await ingest_records(uow, institution, batch, actor)
                totals["records_read"] += len(results)
                for result in results:
                    totals[result.status] += 1
                    if result.status == "rejected" and len(errors) < MAX_ERRORS:
                        errors.append({"position": result.position, "local_id": result.local_id,
                                       "reason": result.reason})
                # Committing a batch renews the lease too: on SQLite a batch holds the write lock the heartbeat
                # waits for.
                if not await ImportRepository(uow.session).update_held(
                        job_id, owner, bytes_read=position, errors=list(errors), **totals,
                        **IMPORT_LEASE.values(owner, lease_seconds(runtime))):
                    raise LeaseLost(job_id)
                await uow.commit()


async def _fail(runtime: ServiceRuntime, job_id: str, owner: str, errors: list[dict[str, Any]], reason: str) -> None:
    try:
        async with runtime.unit_of_work() as uow:
            await ImportRepository(uow.session).update_held(
                job_id, owner, status=FAILED, finished_at=datetime.now(UTC), lease_owner=None, lease_expires_at=None,
                errors=[*errors, {"position": None, "local_id": None, "reason": reason}])
            await _announce(uow, job_id, reason)
            await uow.commit()
    except Exception:
        log.exception("could not mark the import failed", extra={"job": job_id})


async def _announce(uow: UnitOfWork, job_id: str, failure: str | None = None) -> None:
    """`catalog.import.finished`, in the transaction that ends the job (its institution's admins are told)."""
    job = await ImportRepository(uow.session).get(job_id)
    if job is None:
        return
    uow.publish(ImportFinishedV1(
        job_id=job_id, institution=job["institution"], status=job["status"], filename=job["filename"],
        records_read=job["records_read"], created=job["created"], updated=job["updated"],
        unchanged=job["unchanged"], rejected=job["rejected"], failure=failure, started_by=job["created_by"],
        finished_at=job["finished_at"] or datetime.now(UTC)),
        aggregate_id=f"import:{job_id}", aggregate_version=1, institution=job["institution"])


async def recover_interrupted(runtime: ServiceRuntime) -> list[str]:
    """Fail the jobs left `running` whose heartbeat ran out; the first call in a process also removes the spool files
    an earlier process left."""
    if not runtime.extra.get(SWEPT_KEY):
        runtime.extra[SWEPT_KEY] = True
        _remove_leftover_spool_files(runtime)
    keep = set(runtime.extra.get(TASKS_KEY, {}))
    async with runtime.unit_of_work() as uow:
        failed = await ImportRepository(uow.session).fail_running(INTERRUPTED, datetime.now(UTC), keep)
        await uow.commit()
    runtime.extra[RECOVERED_KEY] = True
    if failed:
        log.warning("interrupted imports marked failed", extra={"jobs": failed})
    return failed


def _remove_leftover_spool_files(runtime: ServiceRuntime) -> None:
    """Remove every `import-*.part` in the spool directory, partial uploads and spooled files alike.

    Only right at process start: no upload of this process can have begun (each awaits `ensure_recovered` first), and
    none of an earlier process is needed, since an interrupted import is failed, never resumed from its file. Done
    synchronously, with no await since the caller claimed the sweep, so no upload can start spooling meanwhile. Later
    a file is removed by whoever made it (`spool`, the imports route, `run_import`), never by its age: an import can
    read its file for more than an hour."""
    removed = 0
    for leftover in import_dir(runtime).glob("import-*.part"):
        try:
            size = leftover.stat().st_size
            leftover.unlink()
        except FileNotFoundError:
            continue
        removed += size
    if removed:
        log.warning("removed import spool files an earlier process left", extra={"bytes": removed})


async def ensure_recovered(runtime: ServiceRuntime) -> None:
    """Run `recover_interrupted` once per process (when no startup step did it already)."""
    if not runtime.extra.get(RECOVERED_KEY):
        await recover_interrupted(runtime)


async def cancel_running(runtime: ServiceRuntime) -> None:
    """Stop this replica's imports at shutdown; each marks its job failed and releases it."""
    tasks = list(runtime.extra.get(TASKS_KEY, {}).values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    worker: ParsingWorker | None = runtime.extra.pop(WORKER_KEY, None)
    if worker is not None:
        await worker.stop()
