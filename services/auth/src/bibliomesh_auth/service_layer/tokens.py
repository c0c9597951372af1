"""First start: a signing key, sealed key material, and the bootstrap platform-admin client."""

from __future__ import annotations

from bibliomesh_auth.adapters.client_repository import ClientRepository
from bibliomesh_auth.domain.scopes import PLATFORM_ADMIN_SCOPES
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.local_login import hasher, verify_secret
from bibliomesh_auth.service_layer.token_signing import key_store
from bibliomesh_auth.settings import AuthSettings
from meshkit.secret_box import SecretBox
from meshkit.unit_of_work import UnitOfWork


async def ensure_bootstrap(uow: UnitOfWork, settings: AuthSettings, box: SecretBox) -> None:
    keys = key_store(uow, settings, box)
    await keys.seal_plaintext_keys()
    if not await keys.has_active_key():
        kid = await keys.create()
        await audit.record(uow, "signing-key-created", actor="system", target=kid)
    if settings.bootstrap_client_id and settings.bootstrap_client_secret:
        repo = ClientRepository(uow.session)
        secret = settings.bootstrap_client_secret.get_secret_value()
        existing = await repo.get(settings.bootstrap_client_id)
        if existing is None:
            await repo.add(settings.bootstrap_client_id, "Platform bootstrap client", settings.platform_institution,
                           hasher.hash(secret), set(PLATFORM_ADMIN_SCOPES), {"platform-admin"},
                           grant_types=["client_credentials"], created_by="bootstrap")
            await audit.record(uow, "client-created", actor="system", target=settings.bootstrap_client_id,
                               institution=settings.platform_institution)
        elif not verify_secret(existing.secret_hash, secret):
            await repo.update_secret(existing.client_id, hasher.hash(secret))
            await audit.record(uow, "client-secret-changed", actor="system", target=existing.client_id)
    await uow.commit()
