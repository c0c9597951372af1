"""`bibliomesh catalog harvest --institution CODE` against a running catalogue, over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bibliomesh_catalog.cli import commands
from services.catalog.tests.catalog_fixtures import catalog
from services.catalog.tests.oai_fixtures import LOOPBACK_SOURCES, StaticProvider, caltech_records, register, serving

pytestmark = pytest.mark.integration


async def test_the_harvest_command_runs_a_harvest_and_reports_it(tmp_path: Path) -> None:
    provider = StaticProvider(caltech_records())
    async with catalog(tmp_path, **LOOPBACK_SOURCES) as cat, serving(provider.app(), "/oai") as oai, \
            serving(cat.app, "") as url:
        await register(cat, "LIB-C", oai)
        token = cat.tokens.token("LIB-C", scopes=("catalog:write",))

        def run(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(commands, ["harvest", "--url", url, "--poll", "0.1", *args])
            return result.exit_code, result.output

        code, output = await asyncio.to_thread(run, "--institution", "LIB-C", "--token", token)
        assert code == 0, output
        assert "succeeded: pages 3, read 100, created 100" in output
        code, output = await asyncio.to_thread(run, "--institution", "LIB-X", "--token", token)
        assert code == 1 and "refused (403)" in output
        code, output = await asyncio.to_thread(run, "--institution", "LIB-C")
        assert code == 2 and "access token is required" in output
