"""Dependencies of the auth routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bibliomesh_auth.service_layer.grants import GrantContext
from bibliomesh_auth.settings import AuthSettings
from meshkit.secret_box import SecretBox
from meshkit.web import UnitOfWorkDep, get_runtime


def auth_settings(request: Request) -> AuthSettings:
    settings = get_runtime(request).settings
    assert isinstance(settings, AuthSettings)
    return settings


def secret_box(request: Request) -> SecretBox:
    box = get_runtime(request).extra["secret_box"]
    assert isinstance(box, SecretBox)
    return box


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def grant_context(request: Request, uow: UnitOfWorkDep) -> GrantContext:
    return GrantContext(uow=uow, settings=auth_settings(request), box=secret_box(request), ip=client_ip(request))


SettingsDep = Annotated[AuthSettings, Depends(auth_settings)]
SecretBoxDep = Annotated[SecretBox, Depends(secret_box)]
GrantContextDep = Annotated[GrantContext, Depends(grant_context)]
