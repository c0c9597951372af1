"""A patron's held notifications are settled exactly once however the request-step and person.changed consumers
interleave (separate queues, several replicas, PostgreSQL READ COMMITTED): never lost, never renumbered after being
shown. The consumers' service-layer handlers are driven here in the orders that used to go wrong."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from notify_fixtures import Notify, new_request_id, notify

from bibliomesh_contracts import new_envelope
from bibliomesh_contracts.events.directory import InstitutionSnapshot, InstitutionUpdatedV1, PersonChangedV1
from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.adapters.people_repository import PeopleRepository
from bibliomesh_notify.adapters.tables import library_contacts, notifications, people, recipient_sequences
from bibliomesh_notify.service_layer.events import on_request_step
from bibliomesh_notify.service_layer.held_notifications import on_institution_announced, on_person_changed
from meshkit.testing import eventually
from meshkit.unit_of_work import UnitOfWork
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration
ADA = "user:ada"


@asynccontextmanager
async def on_postgresql(tmp_path: Path) -> AsyncIterator[Notify]:
    async with postgres_database("bm_notify_race") as url, notify(tmp_path, database_url=url) as n:
        await n.institution("CN-U1", ill_email=None)
        yield n


async def request_step(n: Notify, uow: UnitOfWork) -> None:
    """The broker's `submitted` step of a CN-U1 request naming ADA as its patron, as the ILL consumer handles it."""
    step = STEP_EVENTS["submitted"](
        request_id=new_request_id(), step="submitted", borrower="CN-U1", patron_id=ADA, service_type="loan",
        title="Emma", requester_state="submitted", actor="user:staff-u1", occurred_at=datetime.now(UTC))
    envelope = new_envelope(step, producer="ill", aggregate_id=f"ill-request:{step.request_id}", aggregate_version=1)
    await on_request_step(uow, n.app.state.notify, envelope, step)


async def person_changed(n: Notify, uow: UnitOfWork, version: int, status: str = "active",
                         institution: str = "CN-U1") -> None:
    """ADA announced by the directory as a patron (of CN-U1 unless told), as the people consumer handles it."""
    person = PersonChangedV1(subject=ADA, institution=institution, display_name="Ada", email=None, language="en",
                             roles=["patron"], status=status, version=version)
    envelope = new_envelope(person, producer="auth", aggregate_id=ADA, aggregate_version=version)
    await on_person_changed(uow, n.app.state.notify, envelope, person)


async def committed(n: Notify, handler: Callable[[UnitOfWork], Awaitable[None]]) -> None:
    async with n.runtime.unit_of_work() as uow:
        await handler(uow)
        await uow.commit()


async def waiting_on_a_lock_or_done(n: Notify, task: asyncio.Task[None]) -> None:
    """Until `task` is done or a session of the test database waits for a lock (the other transaction's)."""
    async def blocked_or_done() -> bool:
        if task.done():
            return True
        async with n.runtime.engine.connect() as conn:
            return bool(await conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")))

    await eventually(blocked_or_done)


async def shown_to_ada(n: Notify) -> list[dict[str, Any]]:
    page = (await n.client.get("/notify/notifications", headers=n.person_headers(ADA, "CN-U1"))).json()
    return list(page["items"])


async def ada_rows(n: Notify) -> list[tuple[int, int, str | None]]:
    """(id, seq, unconfirmed_patron_of) of everything stored for ADA."""
    async with n.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.select(notifications.c.id, notifications.c.seq,
                                            notifications.c.unconfirmed_patron_of)
                                  .where(notifications.c.recipient == ADA).order_by(notifications.c.id))
        return [(r.id, r.seq, r.unconfirmed_patron_of) for r in rows]


async def ada_last_seq(n: Notify) -> int:
    async with n.runtime.engine.connect() as conn:
        return int(await conn.scalar(sa.select(recipient_sequences.c.last_seq)
                                     .where(recipient_sequences.c.recipient == ADA)) or 0)


async def test_a_person_announced_after_the_step_found_nobody_still_gets_the_held_notification(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """T1 (the step) reads `people` and finds nobody; T2 (person.changed) stores ADA, looks for held rows, finds
    none and commits; only then does T1 store the held notification. It must be shown all the same."""
    async with on_postgresql(tmp_path) as n:
        found_nobody, go_on = asyncio.Event(), asyncio.Event()
        looked_up = PeopleRepository.get

        async def get_then_pause(self: PeopleRepository, subject: str) -> dict[str, Any] | None:
            person = await looked_up(self, subject)
            if subject == ADA and not found_nobody.is_set():  # the step's first look only
                assert person is None
                found_nobody.set()
                await go_on.wait()
            return person

        monkeypatch.setattr(PeopleRepository, "get", get_then_pause)
        step = asyncio.create_task(committed(n, lambda uow: request_step(n, uow)))
        await asyncio.wait_for(found_nobody.wait(), 10)
        await asyncio.wait_for(committed(n, lambda uow: person_changed(n, uow, version=1)), 10)
        go_on.set()
        await asyncio.wait_for(step, 10)

        assert [i["message_kind"] for i in await shown_to_ada(n)] == ["patron.submitted"]
        assert [held for _, _, held in await ada_rows(n)] == [None]


async def test_a_person_announced_while_the_step_stores_its_held_notification_gets_it(tmp_path: Path) -> None:
    """T1 (the step) has stored the held notification but not committed; T2 (person.changed) runs meanwhile. T2
    must wait for T1 and then release what T1 committed, instead of finding nothing and leaving it held."""
    async with on_postgresql(tmp_path) as n:
        stored, commit = asyncio.Event(), asyncio.Event()

        async def step_committed_later() -> None:
            async with n.runtime.unit_of_work() as uow:
                await request_step(n, uow)
                stored.set()
                await commit.wait()
                await uow.commit()

        step = asyncio.create_task(step_committed_later())
        await asyncio.wait_for(stored.wait(), 10)
        announced = asyncio.create_task(committed(n, lambda uow: person_changed(n, uow, version=1)))
        await waiting_on_a_lock_or_done(n, announced)
        commit.set()
        await asyncio.wait_for(asyncio.gather(step, announced), 10)

        assert [i["message_kind"] for i in await shown_to_ada(n)] == ["patron.submitted"]
        assert [held for _, _, held in await ada_rows(n)] == [None]


async def test_two_announcements_at_once_show_a_held_notification_once_with_one_number(tmp_path: Path) -> None:
    """ADA is known and active but her notification is still held (as a lost release left it). T_a (v2) releases
    it, uncommitted; T_b, a late copy of v1 (so it changes no `people` row and waits on none), settles at the same
    time. T_b must not give the released notification another number: a live stream past the first would send it
    again."""
    async with on_postgresql(tmp_path) as n:
        await committed(n, lambda uow: request_step(n, uow))
        async with n.runtime.engine.begin() as conn:
            await conn.execute(sa.insert(people).values(
                subject=ADA, institution="CN-U1", display_name="Ada", email=None, language="en", roles=["patron"],
                status="active", version=1))
        [(_, first_seq, held)] = await ada_rows(n)
        assert (first_seq, held) == (1, "CN-U1") and await shown_to_ada(n) == []

        released, commit = asyncio.Event(), asyncio.Event()

        async def newest_committed_later() -> None:
            async with n.runtime.unit_of_work() as uow:
                await person_changed(n, uow, version=2)
                released.set()
                await commit.wait()
                await uow.commit()

        newest = asyncio.create_task(newest_committed_later())
        await asyncio.wait_for(released.wait(), 10)
        late = asyncio.create_task(committed(n, lambda uow: person_changed(n, uow, version=1)))
        await waiting_on_a_lock_or_done(n, late)
        commit.set()
        await asyncio.wait_for(asyncio.gather(newest, late), 10)

        [(_, seq, held)] = await ada_rows(n)
        assert held is None and seq == await ada_last_seq(n) == 2  # one new number, after its first one
        assert [i["seq"] for i in await shown_to_ada(n)] == [2]


async def test_a_branch_announced_while_the_step_holds_for_its_unknown_university_releases_it(
        tmp_path: Path) -> None:
    """ADA is a known patron of CN-U1-ENG, copied before notify kept parent codes. T1 (a CN-U1 step) holds her
    notification, uncommitted; T3 announces CN-U1-ENG as CN-U1's branch meanwhile. T3 must wait for T1 and then
    release what T1 committed, instead of finding nothing held."""
    async with on_postgresql(tmp_path) as n:
        await n.institution("CN-U1-ENG", ill_email=None, kind="branch-library")
        async with n.runtime.engine.begin() as conn:  # as copied before migration 0004
            await conn.execute(sa.update(library_contacts).values(parent_code=None, parent_known=False))
        await committed(n, lambda uow: person_changed(n, uow, version=1, institution="CN-U1-ENG"))
        stored, commit = asyncio.Event(), asyncio.Event()

        async def step_committed_later() -> None:
            async with n.runtime.unit_of_work() as uow:
                await request_step(n, uow)
                stored.set()
                await commit.wait()
                await uow.commit()

        step = asyncio.create_task(step_committed_later())
        await asyncio.wait_for(stored.wait(), 10)
        branch = InstitutionUpdatedV1(changed_fields=["parent_code"], institution=InstitutionSnapshot(
            code="CN-U1-ENG", name_en="CN-U1-ENG Library", kind="branch-library", parent_code="CN-U1",
            version=2))
        envelope = new_envelope(branch, producer="auth", aggregate_id="institution:CN-U1-ENG", aggregate_version=2)
        announced = asyncio.create_task(committed(
            n, lambda uow: on_institution_announced(uow, n.app.state.notify, envelope, branch)))
        await waiting_on_a_lock_or_done(n, announced)
        commit.set()
        await asyncio.wait_for(asyncio.gather(step, announced), 10)

        assert [i["message_kind"] for i in await shown_to_ada(n)] == ["patron.submitted"]
        assert [held for _, _, held in await ada_rows(n)] == [None]


async def test_releasing_what_is_already_shown_changes_nothing(tmp_path: Path) -> None:
    """The repository's own guard: a release of rows no longer held neither renumbers them nor takes a number."""
    async with on_postgresql(tmp_path) as n:
        await committed(n, lambda uow: request_step(n, uow))
        [(notification_id, _, _)] = await ada_rows(n)
        counts: list[int] = []

        async def release(uow: UnitOfWork) -> None:
            counts.append(await NotificationRepository(uow.session).release(ADA, [notification_id]))

        await committed(n, release)
        await committed(n, release)
        assert counts == [1, 0]
        assert await ada_rows(n) == [(notification_id, 2, None)] and await ada_last_seq(n) == 2
