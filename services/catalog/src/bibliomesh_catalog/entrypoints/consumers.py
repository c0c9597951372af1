"""What the catalogue listens to."""

from __future__ import annotations

from typing import Any

from bibliomesh_catalog.service_layer.directory import copy_institution
from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.registry import DIRECTORY_INSTITUTION_EVENTS
from meshkit.bus import Subscription
from meshkit.consumers import Consumer
from meshkit.unit_of_work import UnitOfWork

DIRECTORY = Subscription(queue="catalog.directory", bindings=("directory.institution.#",))


async def apply_institution(uow: UnitOfWork, _envelope: EventEnvelope, payload: Any) -> None:
    await copy_institution(uow.session, payload.institution)


CONSUMERS = (Consumer(DIRECTORY, dict.fromkeys(DIRECTORY_INSTITUTION_EVENTS, apply_institution)),)
