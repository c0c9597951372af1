"""What the catalogue listens to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bibliomesh_catalog.service_layer.directory import copy_institution
from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.registry import DIRECTORY_INSTITUTION_EVENTS
from meshkit.bus import Subscription
from meshkit.consumers import Consumer, EventHandler
from meshkit.unit_of_work import UnitOfWork

DIRECTORY = Subscription(queue="catalog.directory", bindings=("directory.institution.#",))
SUBSCRIPTIONS = (DIRECTORY,)


def consumers(on_status_change: Callable[[], None]) -> tuple[Consumer, ...]:
    """The consumers; `on_status_change` is called when an institution's status changed (its clusters' availability
    is to be recomputed)."""

    async def apply_institution(uow: UnitOfWork, _envelope: EventEnvelope, payload: Any) -> None:
        if await copy_institution(uow.session, payload.institution):
            on_status_change()

    handler: EventHandler = apply_institution
    return (Consumer(DIRECTORY, dict.fromkeys(DIRECTORY_INSTITUTION_EVENTS, handler)),)
