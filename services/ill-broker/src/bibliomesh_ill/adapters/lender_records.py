"""What the broker has measured about lenders: recent lending and borrowing, loans out, time to ship."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import requests, rota_entries
from bibliomesh_ill.domain.rota import LenderRecord
from bibliomesh_ill.domain.states import ACTIVE_SUPPLY

BALANCE_WINDOW = timedelta(days=90)
SPEED_SAMPLE = 50
# A lender's 90-day balance and speed move slowly, and reading them is most of a routing decision; they are kept
# this long per database. Loans out (the lending limit) are always read fresh.
HISTORY_TTL_SECONDS = 30.0
_history: dict[tuple[str, str], tuple[float, int, int, float | None]] = {}


async def lender_records(session: AsyncSession, codes: set[str], now: datetime) -> dict[str, LenderRecord]:
    """One record per code; lenders with no history get zeros (and no speed)."""
    if not codes:
        return {}
    active: dict[str, int] = dict((await session.execute(
        sa.select(requests.c.lender, sa.func.count()).where(
            requests.c.lender.in_(codes), requests.c.supplier_state.in_([s.value for s in ACTIVE_SUPPLY]))
        .group_by(requests.c.lender))).all())
    history = await _history_of(session, codes, now)
    return {code: LenderRecord(lent=history[code][0], borrowed=history[code][1], active_loans=active.get(code, 0),
                               median_hours_to_ship=history[code][2]) for code in codes}


History = tuple[int, int, float | None]  # lent, borrowed, median hours to ship


async def _history_of(session: AsyncSession, codes: set[str], now: datetime) -> dict[str, History]:
    bind = session.get_bind()
    database = str(bind.engine.url)
    clock = time.monotonic()
    fresh = {code: _history[(database, code)] for code in codes
             if (database, code) in _history and clock - _history[(database, code)][0] < HISTORY_TTL_SECONDS}
    missing = codes - set(fresh)
    if missing:
        since = now - BALANCE_WINDOW
        supplied = rota_entries.c.shipped_at >= since
        lent: dict[str, int] = dict((await session.execute(
            sa.select(rota_entries.c.lender, sa.func.count()).where(rota_entries.c.lender.in_(missing), supplied)
            .group_by(rota_entries.c.lender))).all())
        borrowed: dict[str, int] = dict((await session.execute(
            sa.select(requests.c.borrower, sa.func.count()).select_from(
                rota_entries.join(requests, requests.c.id == rota_entries.c.request_id))
            .where(requests.c.borrower.in_(missing), supplied).group_by(requests.c.borrower))).all())
        speed = await _median_hours(session, missing)
        for code in missing:
            fresh[code] = _history[(database, code)] = (clock, lent.get(code, 0), borrowed.get(code, 0),
                                                        speed.get(code))
    return {code: values[1:] for code, values in fresh.items()}


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
