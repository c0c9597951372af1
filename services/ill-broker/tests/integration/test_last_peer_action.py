"""`RequestRepository.last_action_by`: what a resend is compared with. Only the named peer's own steps count, the
latest first, and steps that took no action are passed over; on both engines (the query is the engine's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.adapters.tables import metadata, request_steps
from tests.support.infra import engine_with

LENDER = "peer:CN-FAR"
OTHER = "peer:CN-PL"


@asynccontextmanager
async def session_on(kind: str, tmp_path: Path) -> AsyncIterator[AsyncSession]:
    async with engine_with(metadata, kind, tmp_path, "bm_ill_steps") as engine, AsyncSession(engine) as session:
        yield session


def step(request_id: str, actor: str, action: str | None, minute: int) -> dict[str, object]:
    return {"request_id": request_id, "step": "peer-message", "action": action, "actor": actor, "party": "lender",
            "requester_state": "requested",
            "occurred_at": datetime(2026, 11, 29, tzinfo=UTC) + timedelta(minutes=minute)}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_peer_s_own_latest_action_counts(kind: str, tmp_path: Path) -> None:
    async with session_on(kind, tmp_path) as session:
        await session.execute(sa.insert(request_steps), [
            step("r1", LENDER, "expect_to_supply", 1),
            step("r1", LENDER, "will_supply", 2),
            step("r1", LENDER, None, 3),              # a note, no action
            step("r1", LENDER, "", 4),
            step("r1", OTHER, "cancel", 5),           # another peer's, later
            step("r2", LENDER, "loaned", 6),          # another request's
        ])
        repository = RequestRepository(session)
        assert await repository.last_action_by("r1", LENDER) == "will_supply"
        assert await repository.last_action_by("r1", OTHER) == "cancel"
        assert await repository.last_action_by("r1", "peer:CN-NONE") is None
        assert await repository.last_action_by("r3", LENDER) is None
