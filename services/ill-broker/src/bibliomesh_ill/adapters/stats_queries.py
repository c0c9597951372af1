"""The rows statistics are computed from: requests of a period with their supplying rota entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import requests, rota_entries


@dataclass(frozen=True)
class RequestFacts:
    borrower: str
    state: str
    created_at: datetime
    lender: str | None          # who supplied (or was last asked)
    tier: str | None
    shipped_at: datetime | None
    received_at: datetime | None


@dataclass(frozen=True)
class Decline:
    lender: str
    borrower: str
    reason: str | None
    status: str


async def request_facts(session: AsyncSession, start: datetime, end: datetime,
                        institution: str | None) -> list[RequestFacts]:
    """Requests created in [start, end) that involve `institution` (as borrower or supplier), or all."""
    supplied = sa.select(rota_entries).where(rota_entries.c.shipped_at.is_not(None)).subquery()
    query = (sa.select(requests.c.borrower, requests.c.requester_state, requests.c.created_at, requests.c.lender,
                       supplied.c.lender.label("supplier"), supplied.c.tier, supplied.c.shipped_at,
                       supplied.c.received_at)
             .select_from(requests.outerjoin(supplied, supplied.c.request_id == requests.c.id))
             .where(requests.c.created_at >= start, requests.c.created_at < end, requests.c.origin == "platform"))
    if institution is not None:
        query = query.where(sa.or_(requests.c.borrower == institution, supplied.c.lender == institution))
    rows = await session.execute(query)
    return [RequestFacts(r.borrower, r.requester_state, r.created_at, r.supplier or r.lender, r.tier, r.shipped_at,
                         r.received_at) for r in rows]


async def declines(session: AsyncSession, start: datetime, end: datetime, institution: str | None) -> list[Decline]:
    """Lender answers that were not a supply, for requests created in the period."""
    query = (sa.select(rota_entries.c.lender, requests.c.borrower, rota_entries.c.outcome, rota_entries.c.status)
             .select_from(rota_entries.join(requests, requests.c.id == rota_entries.c.request_id))
             .where(requests.c.created_at >= start, requests.c.created_at < end,
                    rota_entries.c.status.in_(["declined", "no_answer", "conditions_rejected"])))
    if institution is not None:
        query = query.where(sa.or_(requests.c.borrower == institution, rota_entries.c.lender == institution))
    return [Decline(r.lender, r.borrower, r.outcome, r.status) for r in await session.execute(query)]
