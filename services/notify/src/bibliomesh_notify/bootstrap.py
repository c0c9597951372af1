"""The notification service's composition root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bibliomesh_notify.adapters.tables import messaging
from bibliomesh_notify.entrypoints.api.routes import contacts, notifications, preferences, stream, templates, webhooks
from bibliomesh_notify.entrypoints.consumers import consumers
from bibliomesh_notify.service_layer.digests import digest_worker
from bibliomesh_notify.service_layer.email_sender import email_worker
from bibliomesh_notify.service_layer.services import Clock, build_services
from bibliomesh_notify.service_layer.webhook_sender import webhook_worker
from bibliomesh_notify.settings import NotifySettings, load_settings
from meshkit.assemble import assemble_service
from meshkit.bus import Transport

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotifySettings | None = None, transport: Transport | None = None,
               migrate: bool = False, clock: Clock | None = None) -> FastAPI:
    """`clock` replaces the wall clock (digest hour, backoff) in tests."""
    settings = settings or load_settings()
    services = build_services(settings, clock)
    app = assemble_service(
        settings=settings, tables=messaging,
        routers=[contacts.router, notifications.router, stream.router, preferences.router, webhooks.router,
                 templates.router],
        title="Bibliomesh notifications",
        description="Turns platform events into e-mail, webhook and in-app messages.",
        migrations=MIGRATIONS, consumers=consumers(services), transport=transport, migrate=migrate,
        workers=[email_worker(services), webhook_worker(services), digest_worker(services)],
    )
    app.state.notify = services
    return app
