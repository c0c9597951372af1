"""`/auth/keys`: the signing keys and their rotation over HTTP (platform admins with `directory:admin`), as
`bibliomesh auth rotate-keys|purge-keys|list-keys` do from a shell."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from bibliomesh_auth.entrypoints.api.callers import DirectoryAdmin
from bibliomesh_auth.entrypoints.api.deps import SecretBoxDep, SettingsDep
from bibliomesh_auth.service_layer import keys
from meshkit.web import UnitOfWorkDep

router = APIRouter(prefix="/auth/keys", tags=["keys"])


@router.get("", summary="Each signing key and its state: pending, signing, retired, expired (platform admins "
                "with `directory:admin`).")
async def list_keys(uow: UnitOfWorkDep, settings: SettingsDep, box: SecretBoxDep,
                    caller: DirectoryAdmin) -> list[dict[str, str | None]]:
    return await keys.describe_keys(uow, settings, box)


@router.post("/rotate", summary="Publish a new signing key now; it signs after `publish_ahead` seconds, when the "
                                "current keys retire (platform admins with `directory:admin`).")
async def rotate(uow: UnitOfWorkDep, settings: SettingsDep, box: SecretBoxDep, caller: DirectoryAdmin,
                 publish_ahead: Annotated[int, Query(ge=0, le=86_400)] = 120) -> dict[str, Any]:
    rotation = await keys.rotate_keys(uow, settings, box, timedelta(seconds=publish_ahead), actor=caller.subject)
    await uow.commit()
    return {"new_kid": rotation.new_kid, "retiring": rotation.retiring,
            "activates_at": rotation.activates_at.isoformat(),
            "old_keys_published_until": rotation.old_keys_published_until.isoformat()}


@router.post("/purge", summary="Delete keys retired longer than a token lifetime ago (platform admins with "
                            "`directory:admin`).")
async def purge(uow: UnitOfWorkDep, settings: SettingsDep, box: SecretBoxDep,
                caller: DirectoryAdmin) -> dict[str, int]:
    purged = await keys.purge_keys(uow, settings, box, actor=caller.subject)
    await uow.commit()
    return {"purged": purged}
