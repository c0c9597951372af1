"""Queuing what a step means for the peers outside the platform, from the broker's own `ill.request.*` events.

The consumer only writes the messages (schema-checked) into the peer outbox, in its inbox transaction: no
network call holds a database transaction open. `delivery.py` sends them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.events.ill import RequestStepV1
from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.adapters.peer_outbox import PeerOutbox
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.adapters.tables import request_steps
from bibliomesh_ill.iso18626 import serialize
from bibliomesh_ill.iso18626.models import ANY_MESSAGE
from bibliomesh_ill.service_layer.peers.outbound import BorrowerTrail, Outgoing, messages_for
from bibliomesh_ill.service_layer.peers.trail import borrower_trail
from bibliomesh_ill.settings import IllSettings
from meshkit.unit_of_work import UnitOfWork


class PeerSender:
    def __init__(self, settings: IllSettings) -> None:
        self.settings = settings

    async def __call__(self, uow: UnitOfWork, _envelope: EventEnvelope, step: RequestStepV1) -> None:
        request = await RequestRepository(uow.session).get(step.request_id)
        if request is None:
            return
        members = MemberRepository(uow.session)
        lender = await members.get(step.lender) if step.lender else None
        borrower = await members.get(request.borrower)
        if not ((lender and lender.external) or (borrower and borrower.external)):
            return
        now = datetime.now(UTC)
        approved = await _renewal_answer(uow, request.id) if step.step == "renewal_answered" else None
        trail = await borrower_trail(uow, request.id, step.lender) if borrower and borrower.external else None
        outgoing = messages_for(step, request, lender, borrower, self.settings.broker_agency_id,
                                self.settings.agency_id_type, now, approved, trail or BorrowerTrail())
        await queue(uow, request.id, step.step, outgoing, now)


async def queue(uow: UnitOfWork, request_id: str, step: str, outgoing: list[Outgoing], now: datetime) -> None:
    """Write messages to peers into the outbox, with the step that caused them, for `delivery.py` to send."""
    for item in outgoing:
        serialize(item.message, item.version)  # refuse to queue what the schema would not accept
    await PeerOutbox(uow.session).add([
        {"request_id": request_id, "step": step, "peer": item.peer, "url": item.url,
         "version": item.version.value, "kind": item.message.kind,
         "message": ANY_MESSAGE.dump_json(item.message).decode()} for item in outgoing], now)


async def _renewal_answer(uow: UnitOfWork, request_id: str) -> bool:
    details = await uow.session.scalar(
        sa.select(request_steps.c.details).where(request_steps.c.request_id == request_id,
                                                 request_steps.c.step == "renewal_answered")
        .order_by(request_steps.c.id.desc()).limit(1))
    return bool((details or {}).get("approved"))
