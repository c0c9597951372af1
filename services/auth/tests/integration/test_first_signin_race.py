"""Two first sign-ins of one person at the same moment (two tabs, a double click on the provider's consent page)
both find no account and both create one: the loser must read the winner's account, never answer 500."""

import asyncio
import contextlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bibliomesh_auth.adapters import tables
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.federation.mapping import FederatedIdentity
from bibliomesh_auth.service_layer.signin_accounts import federated_account
from meshkit.db import create_engine, session_factory
from meshkit.testing import running
from meshkit.unit_of_work import UnitOfWork

from .conftest import admin_headers, settings_on
from .people import UNI, register

ISSUER = "https://idp.u1.example"
PERSON = FederatedIdentity(subject="248289761001", username="li.wei", email="li.wei@u1.example.edu",
                           display_name="Li Wei", affiliations=("member",), roles=frozenset({"patron"}))


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_two_first_signins_at_once_make_one_account(engine: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    async with settings_on(engine, tmp_path, "bm_auth_first_signin") as settings, \
            running(create_app(settings=settings, migrate=True)) as client:
        await register(client, await admin_headers(client), UNI)
        lookups: list[None] = []
        both_looked = asyncio.Event()
        looked_up = UserRepository.by_external_identity

        async def look_up_together(self: UserRepository, issuer: str, subject: str, *,
                                   lock: bool = False) -> User | None:
            found = await looked_up(self, issuer, subject, lock=lock)
            lookups.append(None)
            if len(lookups) == 1:  # give the other sign-in every chance to look before this one creates the account
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(both_looked.wait(), 0.5)
            elif len(lookups) == 2:
                both_looked.set()
            return found

        monkeypatch.setattr(UserRepository, "by_external_identity", look_up_together)
        engine_ = create_engine(settings.effective_database_url())
        sessions = session_factory(engine_)

        async def sign_in() -> User:
            async with UnitOfWork(sessions, tables.messaging.outbox, "auth") as uow:
                user = await federated_account(uow, UNI["code"], ISSUER, PERSON, "zh")
                await uow.commit()
                return user

        try:
            first, second = await asyncio.gather(sign_in(), sign_in())
            outbox = tables.messaging.outbox
            async with sessions() as session:
                accounts = await session.scalar(select(func.count()).select_from(tables.users)
                                                .where(tables.users.c.external_subject == PERSON.subject))
                announced = await session.scalar(select(func.count()).select_from(outbox)
                                                 .where(outbox.c.event_type == "directory.person.changed"))
        finally:
            await engine_.dispose()
        assert first.id == second.id and first.username == "li.wei"
        assert accounts == 1
        assert announced == 1  # the loser's rolled-back account was never announced
