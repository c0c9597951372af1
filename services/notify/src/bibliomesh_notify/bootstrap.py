"""The notification service's composition root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bibliomesh_notify.adapters.tables import messaging
from bibliomesh_notify.entrypoints.api.routes import contacts
from bibliomesh_notify.entrypoints.consumers import CONSUMERS
from bibliomesh_notify.settings import NotifySettings, load_settings
from meshkit.assemble import assemble_service
from meshkit.bus import Transport

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotifySettings | None = None, transport: Transport | None = None,
               migrate: bool = False) -> FastAPI:
    return assemble_service(
        settings=settings or load_settings(), tables=messaging, routers=[contacts.router],
        title="Bibliomesh notifications",
        description="Turns platform events into e-mail, webhook and in-app messages.",
        migrations=MIGRATIONS, consumers=CONSUMERS, transport=transport, migrate=migrate,
    )
