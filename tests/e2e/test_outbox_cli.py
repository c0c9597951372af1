"""Operators list and release the events a service's relay parked, with the command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.bootstrap import create_app
from bibliomesh_catalog.settings import CatalogSettings
from meshkit.testing import eventually, running

pytestmark = pytest.mark.e2e


async def bibliomesh(*args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bibliomesh_launcher.cli", *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_parked_event_is_listed_and_released(tmp_path: Path) -> None:
    settings = CatalogSettings(data_dir=tmp_path, log_json=False, relay_max_attempts=1)
    env = {"DATA_DIR": str(tmp_path), "CATALOG_BUS_URL": "embedded"}
    app = create_app(settings=settings, migrate=True)
    async with running(app):
        runtime = app.state.runtime
        outbox = runtime.tables.outbox
        event_id = str(uuid.uuid4())
        async with runtime.engine.begin() as conn:
            await conn.execute(sa.insert(outbox).values(
                event_id=event_id, event_type="catalog.holdings.changed", aggregate_id="holding:CN-X/1",
                body="{not json", created_at=datetime.now(UTC)))
        runtime.relay.wake()

        async def row() -> Any:
            async with runtime.engine.connect() as conn:
                return (await conn.execute(sa.select(outbox).where(outbox.c.event_id == event_id))).one()

        async def parked() -> bool:
            return (await row()).parked_at is not None

        await eventually(parked)
        first_parked_at = (await row()).parked_at
        listed = [json.loads(line) for line in
                  (await bibliomesh("catalog", "outbox", "parked", "--json", env=env)).splitlines()]
        assert [(item["event_id"], item["type"], item["attempts"]) for item in listed] == [
            (event_id, "catalog.holdings.changed", 1)]
        assert "JSONDecodeError" in listed[0]["error"]

        released = await bibliomesh("catalog", "outbox", "release", event_id, env=env)
        assert "released 1 event(s)" in released

        async def parked_again() -> bool:  # still not an event: tried again, and parked again
            again = await row()
            return again.parked_at is not None and again.parked_at > first_parked_at

        runtime.relay.wake()
        await eventually(parked_again)
