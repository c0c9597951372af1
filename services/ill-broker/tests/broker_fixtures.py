"""A running broker with a small region: institutions and holdings arrive as events, as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from bibliomesh_contracts.events.catalog import HoldingsChangedV1
from bibliomesh_contracts.events.directory import InstitutionSnapshot, LendingPolicy
from bibliomesh_ill.adapters.tables import holdings, members, messaging, request_steps, requests, rota_entries
from bibliomesh_ill.bootstrap import create_app
from bibliomesh_ill.domain.states import RequesterState as R
from bibliomesh_ill.domain.states import SupplierState as S
from bibliomesh_ill.service_layer.timers import fire_due
from bibliomesh_ill.settings import IllSettings
from meshkit.testing import TokenFactory, eventually, publish_event, publish_institution, running, trust
from tests.support.infra import postgres_database, rabbitmq_vhost

REGION = ["CN-LN-DL"]

# The (borrowing side, lending side) pairs a stored request can rest in between two actions, derived from the
# transition table (tests/unit/test_transitions.py checks the table reaches exactly these). Written down so that a
# change to the table that makes a new pair reachable has to be looked at, not just accepted.
RESTING_PAIRS: frozenset[tuple[R, S | None]] = frozenset({
    (R.SENT_TO_SUPPLIER, S.NEW),
    (R.EXPECTS_TO_SUPPLY, S.EXPECT_TO_SUPPLY),
    (R.CONDITIONAL_ANSWER, S.CONDITIONAL),
    (R.WILL_SUPPLY, S.AWAITING_SHIP),
    (R.CANCEL_PENDING, S.CANCEL_REQUESTED),
    (R.SHIPPED, S.SHIPPED),
    (R.RECEIVED, S.SHIPPED),
    (R.CHECKED_OUT, S.SHIPPED),
    (R.OVERDUE, S.OVERDUE),
    (R.RECALLED, S.RECALLED),
    # overdue or recalled while still in transit: the borrower can still receive it, lend it, return it
    (R.SHIPPED, S.OVERDUE),
    (R.SHIPPED, S.RECALLED),
    (R.RECEIVED, S.OVERDUE),
    (R.RECEIVED, S.RECALLED),
    (R.CHECKED_OUT, S.OVERDUE),
    (R.CHECKED_OUT, S.RECALLED),
    (R.RETURNED, S.RETURN_SHIPPED),
    (R.COMPLETED, S.COMPLETED),
    (R.COMPLETED, S.COPY_DELIVERED),
    (R.CANCELLED, S.CANCELLED),
    (R.UNFILLED, None),
})
# Pairs seen only inside one transaction, so only in the audit trail: the steps of submitting, and a lender side
# that has ended (declined, conditions rejected, rerouted) just before the next lender is asked.
PASSING_PAIRS: frozenset[tuple[R, S | None]] = frozenset({
    (R.SUBMITTED, None),
    (R.VALIDATED, None),
    (R.SOURCING, None),
    (R.SENT_TO_SUPPLIER, S.CANNOT_SUPPLY),
    (R.SENT_TO_SUPPLIER, S.CANCELLED),
    (R.EXPECTS_TO_SUPPLY, S.CANNOT_SUPPLY),
    (R.EXPECTS_TO_SUPPLY, S.CANCELLED),
    (R.CONDITIONAL_ANSWER, S.CANNOT_SUPPLY),
    (R.CONDITIONAL_ANSWER, S.CANCELLED),
    (R.WILL_SUPPLY, S.CANNOT_SUPPLY),
})
VALID_PAIRS = RESTING_PAIRS | PASSING_PAIRS


def region(**policies: LendingPolicy) -> list[InstitutionSnapshot]:
    """A university with two branches, a public library in the same region and a university far away."""
    def policy(code: str) -> LendingPolicy:
        return policies.get(code.replace("-", "_"), LendingPolicy())

    return [
        InstitutionSnapshot(code="CN-U1", name_en="U1", kind="university", regions=REGION, version=1,
                            policy=policy("CN-U1")),
        InstitutionSnapshot(code="CN-U1-ENG", name_en="U1 Engineering", kind="branch-library", parent_code="CN-U1",
                            regions=REGION, pickup_locations=["Engineering desk"], version=1,
                            policy=policy("CN-U1-ENG")),
        InstitutionSnapshot(code="CN-U1-MED", name_en="U1 Medicine", kind="branch-library", parent_code="CN-U1",
                            regions=REGION, version=1, policy=policy("CN-U1-MED")),
        InstitutionSnapshot(code="CN-PL", name_en="Public library", kind="public-library", regions=REGION, version=1,
                            policy=policy("CN-PL")),
        InstitutionSnapshot(code="CN-FAR", name_en="Far university", kind="university", regions=["CN-SH"],
                            version=1, policy=policy("CN-FAR")),
    ]


def item(institution: str, item_id: str, cluster_id: int, *, status: str = "available", version: int = 1,
         fmt: str = "print", isbns: list[str] | None = None, due: date | None = None, title: str | None = None,
         alt_title: str | None = None, change: Literal["appeared", "changed", "withdrawn"] = "appeared",
         ) -> HoldingsChangedV1:
    """An item of cluster `cluster_id` as the catalogue announces it (`title` None: as a catalogue announced items
    before it carried titles)."""
    return HoldingsChangedV1(institution=institution, item_id=item_id, change=change, status=status,
                             available=status == "available" and change != "withdrawn", due_date=due, format=fmt,
                             ill_copy_allowed=fmt == "electronic", local_id=f"rec-{cluster_id}", record_id=cluster_id,
                             cluster_id=cluster_id, isbns=isbns or [], title_key=f"book {cluster_id}|author|2001",
                             title=title, alt_title=alt_title)


@dataclass
class Broker:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: TokenFactory
    patrons: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def add_institutions(self, snapshots: list[InstitutionSnapshot]) -> None:
        for snapshot in snapshots:
            await publish_institution(self.runtime.bus, snapshot)
        codes = {s.code: s.version for s in snapshots}

        async def known() -> bool:
            async with self.runtime.engine.connect() as conn:
                rows = dict((await conn.execute(sa.select(members.c.code, members.c.version))).all())
            return all(rows.get(code, 0) >= version for code, version in codes.items())

        await eventually(known)

    async def add_holdings(self, changes: list[HoldingsChangedV1], version: int = 1) -> None:
        for change in changes:
            await publish_event(self.runtime.bus, change, producer="catalog",
                                aggregate_id=f"item:{change.institution}:{change.item_id}", aggregate_version=version)

        async def known() -> bool:
            async with self.runtime.engine.connect() as conn:
                count = await conn.scalar(sa.select(sa.func.count()).select_from(holdings).where(
                    holdings.c.version >= version))
            return bool(count and count >= len(changes))

        await eventually(known)

    def patron(self, institution: str, name: str = "reader") -> dict[str, str]:
        subject = self.patrons.setdefault(f"{institution}/{name}", f"patron:{institution}:{name}")
        return self.tokens.headers(institution, scopes=["ill:request", "catalog:read"], roles=["patron"],
                                   subject=subject)

    def staff(self, institution: str) -> dict[str, str]:
        return self.tokens.headers(institution, scopes=["ill:request", "ill:lend", "ill:manage"], roles=["staff"],
                                   subject=f"staff:{institution}")

    def admin(self) -> dict[str, str]:
        """A platform administrator (support): may act for either library, never as the patron."""
        return self.tokens.headers("PLATFORM", scopes=["ill:request", "ill:lend", "ill:manage"],
                                   roles=["platform-admin"], subject="admin:platform")

    async def submit(self, as_: dict[str, str], **body: Any) -> httpx.Response:
        return await self.client.post("/ill/requests", headers=as_, json=body)

    async def view(self, request_id: str, as_: dict[str, str]) -> httpx.Response:
        return await self.client.get(f"/ill/requests/{request_id}", headers=as_)

    async def act(self, request_id: str, action: str, as_: dict[str, str], **body: Any) -> httpx.Response:
        return await self.client.post(f"/ill/requests/{request_id}/actions/{action}", headers=as_, json=body or None)

    async def fire_due(self, now: datetime) -> int:
        """Run the broker's clock once, as the timer worker would at `now`."""
        return int(await fire_due(self.runtime, now=now))

    async def steps(self, request_id: str) -> list[str]:
        async with self.runtime.engine.connect() as conn:
            return list(await conn.scalars(sa.select(request_steps.c.step).where(
                request_steps.c.request_id == request_id).order_by(request_steps.c.id)))

    async def trail(self, request_id: str) -> list[dict[str, Any]]:
        """The stored audit trail, oldest first."""
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(sa.select(request_steps).where(request_steps.c.request_id == request_id)
                                      .order_by(request_steps.c.id))
            return [dict(r._mapping) for r in rows]

    async def stored(self, request_id: str) -> dict[str, Any]:
        """The request row as stored."""
        async with self.runtime.engine.connect() as conn:
            row = (await conn.execute(sa.select(requests).where(requests.c.id == request_id))).one()
            return dict(row._mapping)

    async def rota(self, request_id: str) -> list[dict[str, Any]]:
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(sa.select(rota_entries).where(rota_entries.c.request_id == request_id)
                                      .order_by(rota_entries.c.seq))
            return [dict(r._mapping) for r in rows]

    async def events(self, request_id: str) -> list[str]:
        """Event types the request put in the outbox, in order."""
        async with self.runtime.engine.connect() as conn:
            return list(await conn.scalars(sa.select(messaging.outbox.c.event_type).where(
                messaging.outbox.c.aggregate_id == f"ill-request:{request_id}").order_by(messaging.outbox.c.id)))


@asynccontextmanager
async def broker(tmp_path: Path, database_url: str | None = None, **settings: Any) -> AsyncIterator[Broker]:
    tokens = TokenFactory()
    options: dict[str, Any] = {"data_dir": tmp_path, "log_json": False, "timer_poll_seconds": 3600, **settings}
    if database_url:
        options["database_url"] = database_url
    app = create_app(settings=IllSettings(**options), migrate=True)
    trust(app, tokens)
    async with running(app) as client:
        yield Broker(app, client, tokens)


@asynccontextmanager
async def backend(kind: str, tmp_path: Path) -> AsyncIterator[Broker]:
    """The embedded default (SQLite, in-process bus) or distributed (PostgreSQL and RabbitMQ, made for this test)."""
    if kind == "sqlite":
        async with broker(tmp_path) as b:
            yield b
        return
    async with postgres_database("bm_ill") as url, rabbitmq_vhost("bm-ill") as vhost, \
            broker(tmp_path, database_url=url, bus_url=vhost.url()) as b:
        yield b


@contextmanager
def statements(b: Broker) -> Iterator[list[str]]:
    """The SQL statements the broker sends to its database inside the block."""
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = b.runtime.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
