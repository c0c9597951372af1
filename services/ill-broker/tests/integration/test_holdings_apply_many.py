"""`HoldingRepository.apply_many`, which a batch of `catalog.holdings.changed` events is applied with, leaves the
broker's copy exactly as applying the same changes one at a time does: repeated items, versions out of order,
withdrawals and returns, titles left out by an older catalogue, identifiers; on both engines."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.catalog import HoldingsChangedV1
from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from bibliomesh_ill.adapters.tables import holding_identifiers, holdings, metadata
from tests.support.infra import engine_with

pytestmark = pytest.mark.integration


def random_changes(seed: int, count: int) -> list[tuple[HoldingsChangedV1, int]]:
    """`count` changes to a dozen items of two libraries, with versions rising, repeated and out of order."""
    rng = random.Random(seed)
    versions: dict[tuple[str, str], int] = {}
    changes = []
    for _ in range(count):
        institution, item_id = rng.choice(["CN-A", "CN-B"]), f"item-{rng.randrange(6)}"
        latest = versions.get((institution, item_id), 0)
        version = latest + rng.randint(1, 2) if rng.random() < 0.8 else max(1, latest - rng.randint(0, 2))
        versions[(institution, item_id)] = max(latest, version)
        record = rng.choice([1, 2])
        withdrawn = rng.random() < 0.2
        titled = rng.random() < 0.7
        changes.append((HoldingsChangedV1(
            institution=institution, item_id=item_id, change="withdrawn" if withdrawn else rng.choice(
                ["appeared", "changed"]), status=rng.choice(["available", "on-loan", "missing"]),
            available=not withdrawn and rng.random() < 0.5, due_date=None, format="print",
            ill_copy_allowed=False, local_id=f"rec-{record}", record_id=record, cluster_id=rng.choice([10, 11]),
            isbns=rng.sample(["9780262033848", "9787111213826", "9780131103627"], rng.randint(0, 2)),
            issns=rng.sample(["0028-0836"], rng.randint(0, 1)), title_key=f"book {record}|author|2001",
            title=f"Title v{version} " + "x" * rng.choice([0, 600]) if titled else None,
            alt_title="书名" if titled and rng.random() < 0.5 else None), version))
    return changes


@asynccontextmanager
async def sessions_on(kind: str, tmp_path: Path) -> AsyncIterator[tuple[AsyncSession, AsyncSession]]:
    """Two empty copies of the broker's tables."""
    async with engine_with(metadata, kind, tmp_path, "bm_ill_apply_one") as one_engine, \
            engine_with(metadata, kind, tmp_path, "bm_ill_apply_many") as many_engine, \
            AsyncSession(one_engine) as one, AsyncSession(many_engine) as many:
        yield one, many


async def contents(session: AsyncSession) -> tuple[list[Any], list[Any]]:
    return (list((await session.execute(sa.select(holdings).order_by(holdings.c.institution, holdings.c.item_id)))
                 .all()),
            list((await session.execute(sa.select(holding_identifiers).order_by(*holding_identifiers.c))).all()))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_batch_leaves_what_one_change_at_a_time_leaves(kind: str, tmp_path: Path) -> None:
    async with sessions_on(kind, tmp_path) as (one, many):
        for seed in range(4):
            changes = random_changes(seed, 150)
            applied_one = sum([await HoldingRepository(one).apply(change, version) for change, version in changes])
            applied_many = 0
            for start in range(0, len(changes), 40):  # batches meet items stored by the batches before them
                applied_many += await HoldingRepository(many).apply_many(changes[start:start + 40])
            assert applied_many == applied_one
            stored_one, stored_many = await contents(one), await contents(many)
            assert stored_many == stored_one, f"seed {seed}"
        rows, identifiers = stored_one
        assert len(rows) == 12 and identifiers  # the changes reached every item and stated identifiers
        assert any(r.title is None for r in rows) or any(r.withdrawn for r in rows)
