from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bibliomesh_notify.service_layer.services import NotifyServices


def get_services(request: Request) -> NotifyServices:
    services: NotifyServices = request.app.state.notify
    return services


ServicesDep = Annotated[NotifyServices, Depends(get_services)]
