"""Operators list and replay parked messages with the command line, on either transport."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bibliomesh_catalog.bootstrap import create_app
from bibliomesh_catalog.entrypoints.consumers import DIRECTORY
from bibliomesh_catalog.settings import CatalogSettings
from meshkit.bus import OutgoingMessage
from meshkit.testing import eventually, running
from tests.support.infra import rabbitmq_vhost

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["embedded", "rabbitmq"])
async def bus_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "embedded":
        yield "embedded"
    else:
        async with rabbitmq_vhost("bm-dlq-cli") as vhost:
            yield vhost.url()


async def bibliomesh(*args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bibliomesh_launcher.cli", *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_poison_message_is_listed_and_replayed(tmp_path: Path, bus_url: str) -> None:
    settings = CatalogSettings(data_dir=tmp_path, bus_url=bus_url, log_json=False, retry_delays_seconds=[0.1])
    env = {"DATA_DIR": str(tmp_path), "CATALOG_BUS_URL": bus_url}
    app = create_app(settings=settings, migrate=True)
    async with running(app):
        bus = app.state.runtime.bus
        await bus.publish([OutgoingMessage(message_id="poison-1", routing_key="directory.institution.created",
                                           body=b"{not json")])

        async def parked() -> bool:
            return len(await bus.dead_letters(DIRECTORY)) == 1

        await eventually(parked)
        listed = [json.loads(line) for line in (await bibliomesh("catalog", "dead-letters", "list", "--json",
                                                                 env=env)).splitlines()]
        assert [(item["queue"], item["message_id"]) for item in listed] == [("catalog.directory", "poison-1")]
        assert "not a valid event envelope" in listed[0]["error"]

        first_failure = (await bus.dead_letters(DIRECTORY))[0].failed_at
        replayed = await bibliomesh("catalog", "dead-letters", "replay", "poison-1", env=env)
        assert "replayed 1 message" in replayed

        async def parked_again() -> bool:  # still poison: delivered again, and back after its retry
            letters = await bus.dead_letters(DIRECTORY)
            return len(letters) == 1 and letters[0].failed_at is not None and letters[0].failed_at > first_failure

        await eventually(parked_again)
