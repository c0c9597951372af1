"""Requests, their rota and their audit trail: every query about them lives here."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.tables import peer_request_ids, request_steps, requests, rota_entries
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState, SupplierState
from meshkit.db import lock_until_commit
from meshkit.problems import Conflict


def _request(row: Any) -> IllRequest:
    values = dict(row._mapping)
    values["requester_state"] = RequesterState(values["requester_state"])
    supplier = values["supplier_state"]
    values["supplier_state"] = SupplierState(supplier) if supplier else None
    return IllRequest(**values)


class StaleRequest(Conflict):
    """Someone else changed the request between our read and our write; the caller may retry."""


class PeerRequestExists(Exception):
    """The borrower already has a request with this peer request id: a peer's retry arrived while its first message
    was being applied. The transaction is unusable; roll it back and answer as for any retry."""


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: IllRequest) -> None:
        request.version = 1
        try:
            await self.session.execute(sa.insert(requests).values(**request.columns()))
        except IntegrityError as exc:
            if request.peer_request_id is None or not _names_peer_request_index(exc):
                raise
            raise PeerRequestExists(f"{request.borrower} already sent request {request.peer_request_id}") from exc
        request.changed.clear()

    async def get(self, request_id: str) -> IllRequest | None:
        row = (await self.session.execute(sa.select(requests).where(requests.c.id == request_id))).first()
        return _request(row) if row else None

    async def by_peer_id(self, borrower: str, peer_request_id: str) -> IllRequest | None:
        row = (await self.session.execute(sa.select(requests).where(
            requests.c.borrower == borrower, requests.c.peer_request_id == peer_request_id))).first()
        return _request(row) if row else None

    async def save(self, request: IllRequest) -> None:
        """Write the changed fields if nobody else wrote the request since it was read (optimistic lock)."""
        if not request.changed:
            return
        values = {name: getattr(request, name) for name in request.changed}
        values["version"] = request.version + 1
        result = await self.session.execute(sa.update(requests).where(
            requests.c.id == request.id, requests.c.version == request.version).values(**values))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleRequest(f"request {request.id} was changed by someone else; reload and try again")
        request.version += 1
        request.changed.clear()

    async def lock_patron(self, borrower: str, patron_id: str) -> None:
        """Serialize one patron's submissions until the transaction ends, so that two sent at once (a double
        click) cannot both find no duplicate."""
        await lock_until_commit(self.session, zlib.crc32(f"ill-patron:{borrower}:{patron_id}".encode()), requests)

    async def active_duplicates(self, borrower: str, patron_id: str | None, item_key: str) -> list[str]:
        if patron_id is None:
            return []
        terminal = [s.value for s in (RequesterState.COMPLETED, RequesterState.UNFILLED, RequesterState.CANCELLED)]
        rows = await self.session.scalars(sa.select(requests.c.id).where(
            requests.c.borrower == borrower, requests.c.patron_id == patron_id, requests.c.item_key == item_key,
            requests.c.requester_state.not_in(terminal)))
        return list(rows)

    async def listing(self, *, borrower: str | None = None, lender: str | None = None, patron_id: str | None = None,
                      states: Sequence[str] = (), limit: int = 50, offset: int = 0) -> list[IllRequest]:
        query = sa.select(requests)
        if borrower is not None and lender is not None:
            query = query.where(sa.or_(requests.c.borrower == borrower, requests.c.lender == lender))
        elif borrower is not None:
            query = query.where(requests.c.borrower == borrower)
        elif lender is not None:
            query = query.where(requests.c.lender == lender)
        if patron_id is not None:
            query = query.where(requests.c.patron_id == patron_id)
        if states:
            query = query.where(requests.c.requester_state.in_(states))
        rows = await self.session.execute(query.order_by(requests.c.created_at.desc(), requests.c.id)
                                          .limit(limit).offset(offset))
        return [_request(r) for r in rows]

    async def due_for_answer(self, now: datetime, limit: int) -> list[str]:
        """Requests whose current lender has let its answer time pass."""
        rows = await self.session.scalars(sa.select(requests.c.id).where(
            requests.c.answer_due_at <= now,
            requests.c.supplier_state.in_([SupplierState.NEW.value, SupplierState.EXPECT_TO_SUPPLY.value]))
            .order_by(requests.c.answer_due_at).limit(limit))
        return list(rows)

    async def past_due(self, today: Any, limit: int) -> list[str]:
        """Loans past their due date that are not yet marked overdue."""
        rows = await self.session.scalars(sa.select(requests.c.id).where(
            requests.c.due_date < today, requests.c.supplier_state == SupplierState.SHIPPED.value)
            .order_by(requests.c.due_date).limit(limit))
        return list(rows)

    async def due_soon(self, until: Any, limit: int) -> list[str]:
        """Loans at the borrower that fall due by `until` and have had no reminder for that due date."""
        rows = await self.session.scalars(sa.select(requests.c.id).where(
            requests.c.due_date <= until, requests.c.supplier_state == SupplierState.SHIPPED.value,
            sa.or_(requests.c.reminded_due_date.is_(None), requests.c.reminded_due_date != requests.c.due_date))
            .order_by(requests.c.due_date).limit(limit))
        return list(rows)

    # the rota

    async def add_rota(self, request_id: str, entries: list[dict[str, Any]]) -> None:
        start = await self.session.scalar(sa.select(sa.func.coalesce(sa.func.max(rota_entries.c.seq), 0)).where(
            rota_entries.c.request_id == request_id)) or 0
        if entries:
            await self.session.execute(sa.insert(rota_entries), [
                {"request_id": request_id, "seq": start + n, **entry} for n, entry in enumerate(entries, 1)])

    async def rota(self, request_id: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(sa.select(rota_entries).where(rota_entries.c.request_id == request_id)
                                          .order_by(rota_entries.c.seq))
        return [dict(r._mapping) for r in rows]

    async def update_rota(self, request_id: str, lender: str, status_from: Sequence[str], **values: Any) -> None:
        await self.session.execute(sa.update(rota_entries).where(
            rota_entries.c.request_id == request_id, rota_entries.c.lender == lender,
            rota_entries.c.status.in_(status_from)).values(**values))

    # the audit trail

    async def add_step(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(request_steps).values(**values))

    async def steps(self, request_id: str) -> list[dict[str, Any]]:
        """The request's audit trail, oldest first."""
        rows = await self.session.execute(sa.select(request_steps).where(request_steps.c.request_id == request_id)
                                          .order_by(request_steps.c.id))
        return [{k: v for k, v in r._mapping.items() if k != "request_id"} for r in rows]

    async def last_action_by(self, request_id: str, actor: str) -> str | None:
        """The last action `actor` took on the request (None if it took none), without reading the whole trail."""
        return await self.session.scalar(
            sa.select(request_steps.c.action)
            .where(request_steps.c.request_id == request_id, request_steps.c.actor == actor,
                   request_steps.c.action.is_not(None), request_steps.c.action != "")
            .order_by(request_steps.c.id.desc()).limit(1))


def _names_peer_request_index(exc: IntegrityError) -> bool:
    """Whether the unique (borrower, peer_request_id) index refused the row, and not some other constraint.

    PostgreSQL names the index; SQLite names its columns."""
    text = str(exc.orig)
    return str(peer_request_ids.name) in text or "requests.borrower, requests.peer_request_id" in text
