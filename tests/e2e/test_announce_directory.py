"""`bibliomesh auth announce-directory` reaches the other services' copies of the directory: here notify's copy of a
branch library made before notify kept `parent_code` (as a deployment from before notify's migrations 0004/0006 has
it), which the announcement completes, so the branch's patrons are told about their university's requests again."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bibliomesh_auth.cli import commands as auth_commands
from meshkit.testing import eventually
from tests.e2e.platform import admin_headers, embedded_platform

pytestmark = pytest.mark.e2e

UNIVERSITY = {"code": "CN-DL-ANU", "name_en": "Announce University", "kind": "university", "regions": ["CN-LN-DL"]}
BRANCH = {"code": "CN-DL-ANU-LAW", "name_en": "Announce University Law Library", "kind": "branch-library",
          "parent_code": "CN-DL-ANU", "regions": ["CN-LN-DL"]}


async def test_an_announced_directory_completes_a_copy_from_before_parent_code(tmp_path: Path) -> None:
    async with embedded_platform(tmp_path) as platform, httpx.AsyncClient(base_url=platform.public_url) as client:
        admin = await admin_headers(client)
        for institution in (UNIVERSITY, BRANCH):
            assert (await client.post("/auth/institutions", json=institution, headers=admin)).status_code == 201

        async def branch_copy() -> tuple[object, object]:
            response = await client.get(f"/notify/contacts/{BRANCH['code']}", headers=admin)
            body = response.json() if response.status_code == 200 else {}
            return body.get("parent_code"), body.get("parent_known")

        async def copied(expected: tuple[object, object]) -> bool:
            return await branch_copy() == expected

        await eventually(lambda: copied(("CN-DL-ANU", True)))
        with sqlite3.connect(tmp_path / "notify.sqlite") as notify_db:  # the copy as notify kept it before 0004
            notify_db.execute("UPDATE library_contacts SET parent_code = NULL, parent_known = 0 WHERE code = ?",
                              (BRANCH["code"],))
        assert await branch_copy() == (None, False)

        result = await asyncio.to_thread(CliRunner().invoke, auth_commands, ["announce-directory", "--no-people"],
                                         env={"DATA_DIR": str(tmp_path)})

        assert result.exit_code == 0, result.output
        await eventually(lambda: copied(("CN-DL-ANU", True)))
