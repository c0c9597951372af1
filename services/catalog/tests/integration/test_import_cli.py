"""`bibliomesh catalog import FILE --institution CODE` against a running catalogue, over HTTP: it waits while the
catalogue does not know a newly registered institution yet, asking its copy of the directory, and sends the file
once, when it will be taken (an upload before would be refused with 409 after the whole file was sent)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bibliomesh_catalog import cli
from bibliomesh_catalog.adapters.holder_repository import HolderRepository
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from meshkit.testing import eventually, publish_institution
from services.catalog.tests.catalog_fixtures import Catalog, catalog, marc_record
from services.catalog.tests.oai_fixtures import serving

pytestmark = pytest.mark.integration
NEW = "CN-DL-NEW"


def write_file(tmp_path: Path) -> Path:
    path = tmp_path / "new.mrc"
    path.write_bytes(marc_record("n1", "First book of a new library") + marc_record("n2", "Its second book"))
    return path


def recording(app: Any, requests: list[str]) -> Any:
    """The app, noting the method and path of every request it is sent."""
    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            requests.append(f"{scope['method']} {scope['path']}")
        await app(scope, receive, send)
    return recorded


async def knows(cat: Catalog, code: str) -> bool:
    async with cat.app.state.runtime.unit_of_work() as uow:
        return await HolderRepository(uow.session).knows(code)


async def test_the_import_command_waits_for_a_new_institution_to_be_announced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requests: list[str] = []
    async with catalog(tmp_path / "data") as cat, serving(recording(cat.app, requests), "") as url:
        loop = asyncio.get_running_loop()
        waits: list[float] = []

        async def announce() -> None:
            await publish_institution(cat.app.state.runtime.bus, InstitutionSnapshot(
                code=NEW, name_en="New Library", kind="public-library", version=1))
            await eventually(lambda: knows(cat, NEW))

        def sleep(seconds: float) -> None:
            """The command's first pause is the wait for the directory: auth's event arrives during it."""
            if waits:
                return real_sleep(seconds)
            waits.append(seconds)
            asyncio.run_coroutine_threadsafe(announce(), loop).result(timeout=30)
            return None

        real_sleep = time.sleep

        monkeypatch.setattr(time, "sleep", sleep)  # the command runs in a thread of this process
        token = cat.tokens.token("PLATFORM", scopes=("catalog:write",), roles=("platform-admin",))
        result = await asyncio.to_thread(CliRunner().invoke, cli.commands, [
            "import", str(write_file(tmp_path)), "--institution", NEW, "--url", url, "--token", token,
            "--poll", "0.1"])

        assert result.exit_code == 0, result.output
        assert f"{NEW} is not in the catalogue's directory yet; waiting 2 s" in result.output
        assert "succeeded: read 2, created 2" in result.output
        assert waits == [2.0]
        assert requests.count("POST /catalog/imports") == 1  # the file went once, when it was taken


async def test_the_import_command_gives_up_on_an_institution_never_announced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requests: list[str] = []
    async with catalog(tmp_path / "data") as cat, serving(recording(cat.app, requests), "") as url:
        waits: list[float] = []
        monkeypatch.setattr(time, "sleep", waits.append)
        token = cat.tokens.token("PLATFORM", scopes=("catalog:write",), roles=("platform-admin",))
        result = await asyncio.to_thread(CliRunner().invoke, cli.commands, [
            "import", str(write_file(tmp_path)), "--institution", NEW, "--url", url, "--token", token])

        assert result.exit_code == 1, result.output
        assert waits == [2.0] * (cli.DIRECTORY_ATTEMPTS - 1)
        assert f"refused: {NEW} is still not in the catalogue's directory" in result.output
        assert "announced within seconds" in result.output
        assert requests.count("GET /catalog/holders") == cli.DIRECTORY_ATTEMPTS
        assert "POST /catalog/imports" not in requests  # not a byte of the file was sent
