"""What the broker listens to."""

from __future__ import annotations

from typing import Any

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.registry import DIRECTORY_INSTITUTION_EVENTS
from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from bibliomesh_ill.adapters.member_repository import MemberRepository
from meshkit.bus import Subscription
from meshkit.consumers import Consumer
from meshkit.unit_of_work import UnitOfWork

DIRECTORY = Subscription(queue="ill.directory", bindings=("directory.institution.#",))
CATALOG = Subscription(queue="ill.catalog", bindings=("catalog.holdings.changed",))


async def apply_institution(uow: UnitOfWork, _envelope: EventEnvelope, payload: Any) -> None:
    await MemberRepository(uow.session).apply(payload.institution)


async def apply_holding(uow: UnitOfWork, envelope: EventEnvelope, payload: Any) -> None:
    await HoldingRepository(uow.session).apply(payload, envelope.aggregate_version)


CONSUMERS = (
    Consumer(DIRECTORY, dict.fromkeys(DIRECTORY_INSTITUTION_EVENTS, apply_institution)),
    Consumer(CATALOG, {"catalog.holdings.changed": apply_holding}),
)
