"""The auth service's composition root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from joserfc.jwk import KeySet

from bibliomesh_auth.adapters.tables import messaging
from bibliomesh_auth.entrypoints.api.routes import (
    audit,
    clients,
    identity_providers,
    institutions,
    keys,
    oauth_extras,
    signin,
    tokens,
    users,
)
from bibliomesh_auth.service_layer.token_signing import key_store
from bibliomesh_auth.service_layer.tokens import ensure_bootstrap
from bibliomesh_auth.settings import AuthSettings, load_settings
from meshkit.assemble import assemble_service
from meshkit.bus import Transport
from meshkit.runtime import ServiceRuntime
from meshkit.secret_box import SecretBox, open_secret_box

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: AuthSettings | None = None, transport: Transport | None = None,
               migrate: bool = False) -> FastAPI:
    settings = settings or load_settings()
    box = secret_box(settings)

    def trust_own_keys(runtime: ServiceRuntime) -> None:
        runtime.extra["secret_box"] = box

        # The auth service reads its own key table rather than fetching its own JWKS over HTTP.
        async def local_keys(_refresh: bool) -> KeySet:
            async with runtime.unit_of_work() as uow:
                return await key_store(uow, settings, box).public_key_set()

        runtime.verifier.keys = local_keys

    async def bootstrap(runtime: ServiceRuntime) -> None:
        async with runtime.unit_of_work() as uow:
            await ensure_bootstrap(uow, settings, box)

    return assemble_service(
        settings=settings, tables=messaging, routers=[
            tokens.router, institutions.router, users.router, clients.router, clients.peers, oauth_extras.router,
            audit.router, signin.router, identity_providers.router, keys.router,
        ],
        title="Bibliomesh auth",
        description="The institution directory, API clients and access tokens of the platform.",
        migrations=MIGRATIONS, transport=transport, migrate=migrate,
        on_startup=[bootstrap], customize=trust_own_keys,
    )


def secret_box(settings: AuthSettings) -> SecretBox:
    configured = settings.secrets_key.get_secret_value() if settings.secrets_key is not None else None
    return open_secret_box(configured, settings.data_dir, "auth")
