"""What the broker listens to: the directory, holdings, and its own request steps (for peers outside)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.registry import DIRECTORY_INSTITUTION_EVENTS, ILL_REQUEST_EVENTS
from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.service_layer.peers.sender import PeerSender
from bibliomesh_ill.settings import IllSettings
from meshkit.bus import Subscription
from meshkit.consumers import Consumer
from meshkit.unit_of_work import UnitOfWork

DIRECTORY = Subscription(queue="ill.directory", bindings=("directory.institution.#",))
CATALOG = Subscription(queue="ill.catalog", bindings=("catalog.holdings.changed",))
PEERS = Subscription(queue="ill.peers", bindings=("ill.request.#",))
SUBSCRIPTIONS = (DIRECTORY, CATALOG, PEERS)


async def apply_institution(uow: UnitOfWork, _envelope: EventEnvelope, payload: Any) -> None:
    await MemberRepository(uow.session).apply(payload.institution)


async def apply_holding(uow: UnitOfWork, envelope: EventEnvelope, payload: Any) -> None:
    await HoldingRepository(uow.session).apply(payload, envelope.aggregate_version)


async def apply_holdings(uow: UnitOfWork, events: Sequence[tuple[EventEnvelope, Any]]) -> None:
    await HoldingRepository(uow.session).apply_many([(payload, envelope.aggregate_version)
                                                     for envelope, payload in events])


def consumers(settings: IllSettings) -> tuple[Consumer, ...]:
    sender = PeerSender(settings)
    return (
        Consumer(DIRECTORY, dict.fromkeys(DIRECTORY_INSTITUTION_EVENTS, apply_institution)),
        # An import announces every item it stores: applied a batch to a transaction and in a few statements, so
        # that the broker's copy keeps up with a large one (its handlers write only to the database).
        Consumer(CATALOG, {"catalog.holdings.changed": apply_holding}, batched=True,
                 together={"catalog.holdings.changed": apply_holdings}),
        Consumer(PEERS, dict.fromkeys(ILL_REQUEST_EVENTS, sender)),
    )
