"""The catalogue's composition root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bibliomesh_catalog.adapters.tables import messaging
from bibliomesh_catalog.entrypoints.api.routes import (
    clusters,
    harvest,
    holders,
    holdings,
    imports,
    oai,
    openurl,
    records,
    search,
    sru,
)
from bibliomesh_catalog.entrypoints.background import catalog_background
from bibliomesh_catalog.entrypoints.consumers import consumers
from bibliomesh_catalog.service_layer.availability_refresh import AvailabilityRefresher
from bibliomesh_catalog.settings import CatalogSettings, load_settings
from meshkit.assemble import assemble_service
from meshkit.bus import Transport

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: CatalogSettings | None = None, transport: Transport | None = None,
               migrate: bool = False) -> FastAPI:
    refresher = AvailabilityRefresher()
    return assemble_service(
        settings=settings or load_settings(), tables=messaging,
        routers=[holders.router, search.router, sru.router, openurl.router, records.router, holdings.router,
                 clusters.router, oai.router, imports.router, harvest.router],
        title="Bibliomesh catalogue",
        description="The union catalogue of every partner library's holdings.",
        migrations=MIGRATIONS, consumers=consumers(refresher.wake), transport=transport, migrate=migrate,
        workers=[catalog_background, refresher.refresh_forever],
    )
