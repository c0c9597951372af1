"""The broker's composition root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bibliomesh_ill.adapters.tables import messaging
from bibliomesh_ill.entrypoints.api.routes import (
    deliveries,
    holdings,
    iso18626,
    openurl,
    partners,
    peer_messages,
    requests,
    stats,
)
from bibliomesh_ill.entrypoints.consumers import consumers
from bibliomesh_ill.service_layer.peers.delivery import ill_peer_delivery
from bibliomesh_ill.service_layer.stats_metrics import ill_statistics_gauges
from bibliomesh_ill.service_layer.timers import timer_worker
from bibliomesh_ill.settings import IllSettings, load_settings
from meshkit.assemble import assemble_service
from meshkit.bus import Transport

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: IllSettings | None = None, transport: Transport | None = None,
               migrate: bool = False) -> FastAPI:
    settings = settings or load_settings()
    return assemble_service(
        settings=settings, tables=messaging,
        routers=[partners.router, holdings.router, requests.router, openurl.router, stats.router,
                 iso18626.router, deliveries.router, peer_messages.router],
        title="Bibliomesh ILL broker",
        description="Routes interlibrary-loan requests across the region and carries them to completion.",
        migrations=MIGRATIONS, consumers=consumers(settings), transport=transport, migrate=migrate,
        workers=[timer_worker(lambda runtime: runtime.settings.timer_poll_seconds),  # type: ignore[attr-defined]
                 ill_statistics_gauges, ill_peer_delivery],
    )
