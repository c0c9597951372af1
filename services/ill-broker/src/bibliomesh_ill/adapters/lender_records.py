"""What the broker has measured about lenders: recent lending and borrowing, loans out, time to ship."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import requests, rota_entries
from bibliomesh_ill.domain.rota import LenderRecord
from bibliomesh_ill.domain.states import ACTIVE_SUPPLY

BALANCE_WINDOW = timedelta(days=90)
SPEED_SAMPLE = 50


async def lender_records(session: AsyncSession, codes: set[str], now: datetime) -> dict[str, LenderRecord]:
    """One record per code; lenders with no history get zeros (and no speed)."""
    if not codes:
        return {}
    since = now - BALANCE_WINDOW
    supplied = rota_entries.c.shipped_at >= since
    lent: dict[str, int] = dict((await session.execute(
        sa.select(rota_entries.c.lender, sa.func.count()).where(rota_entries.c.lender.in_(codes), supplied)
        .group_by(rota_entries.c.lender))).all())
    borrowed: dict[str, int] = dict((await session.execute(
        sa.select(requests.c.borrower, sa.func.count()).select_from(
            rota_entries.join(requests, requests.c.id == rota_entries.c.request_id))
        .where(requests.c.borrower.in_(codes), supplied).group_by(requests.c.borrower))).all())
    active: dict[str, int] = dict((await session.execute(
        sa.select(requests.c.lender, sa.func.count()).where(
            requests.c.lender.in_(codes), requests.c.supplier_state.in_([s.value for s in ACTIVE_SUPPLY]))
        .group_by(requests.c.lender))).all())
    speed = await _median_hours(session, codes)
    return {code: LenderRecord(lent=lent.get(code, 0), borrowed=borrowed.get(code, 0),
                               active_loans=active.get(code, 0), median_hours_to_ship=speed.get(code))
            for code in codes}


async def _median_hours(session: AsyncSession, codes: set[str]) -> dict[str, float]:
    """Median hours from asked to shipped over each lender's last SPEED_SAMPLE shipments, for all `codes` in one
    query (one per lender made a rota of 100 holders cost 100 round trips)."""
    recent = sa.select(
        rota_entries.c.lender, rota_entries.c.asked_at, rota_entries.c.shipped_at,
        sa.func.row_number().over(partition_by=rota_entries.c.lender,
                                  order_by=rota_entries.c.shipped_at.desc()).label("n"),
    ).where(rota_entries.c.lender.in_(codes), rota_entries.c.shipped_at.is_not(None)).subquery()
    rows = await session.execute(sa.select(recent.c.lender, recent.c.asked_at, recent.c.shipped_at)
                                 .where(recent.c.n <= SPEED_SAMPLE))
    hours: dict[str, list[float]] = {}
    for lender, asked, shipped in rows:
        if asked and shipped:
            hours.setdefault(lender, []).append((shipped - asked).total_seconds() / 3600)
    return {code: median(values) for code, values in hours.items()}
