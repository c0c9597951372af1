"""The composition every service repeats: logging, tracing, runtime, optional migration, app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI

from meshkit.bus import Transport
from meshkit.consumers import Consumer
from meshkit.logs import configure_logging
from meshkit.messaging_tables import MessagingTables
from meshkit.migrations import upgrade_in_thread
from meshkit.runtime import ServiceRuntime, Worker
from meshkit.settings import ServiceSettings
from meshkit.telemetry import configure_tracing
from meshkit.web import create_service_app

StartupStep = Callable[[ServiceRuntime], Awaitable[None]]


def assemble_service(
    *,
    settings: ServiceSettings,
    tables: MessagingTables,
    routers: Sequence[APIRouter],
    title: str,
    description: str,
    migrations: Path,
    consumers: Sequence[Consumer] = (),
    transport: Transport | None = None,
    migrate: bool = False,
    on_startup: Sequence[StartupStep] = (),
    workers: Sequence[Worker] = (),
    customize: Callable[[ServiceRuntime], None] | None = None,
) -> FastAPI:
    """`migrate=True` upgrades the schema at start (embedded mode); distributed mode runs `migrate` as a Job.
    `workers` are long-running loops (timers, schedules) started with the relay."""
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    configure_tracing(settings.otel_exporter, settings.service_name)
    runtime = ServiceRuntime(name=settings.service_name, settings=settings, tables=tables, consumers=consumers,
                             transport=transport, workers=workers)
    if customize is not None:
        customize(runtime)

    async def migrate_schema() -> None:
        if migrate:
            await upgrade_in_thread(migrations, settings.effective_database_url())

    steps: list[Callable[[], Awaitable[None]]] = [migrate_schema]
    steps.extend(_bound(step, runtime) for step in on_startup)
    return create_service_app(runtime, title=title, description=description, routers=routers, on_startup=steps)


def _bound(step: StartupStep, runtime: ServiceRuntime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await step(runtime)

    return run
