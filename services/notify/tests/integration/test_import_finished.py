"""An institution's admins hear how a catalogue import ended; nobody else does."""

from datetime import UTC, datetime
from pathlib import Path

from notify_fixtures import notify

from bibliomesh_contracts.events.catalog import ImportFinishedV1
from meshkit.testing import eventually, publish_event


async def test_admins_are_told_an_import_failed_and_patrons_are_not(tmp_path: Path) -> None:
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None, language="zh")
        await n.person("user:boss", "CN-U1", email=None, roles=("institution-admin",), language="zh")
        await n.person("user:ada", "CN-U1", email=None)
        await publish_event(n.runtime.bus, ImportFinishedV1(
            job_id="job-1", institution="CN-U1", status="failed", filename="loc.mrc", records_read=1200, created=1100,
            updated=0, unchanged=90, rejected=10, failure="cancelled: the catalogue shut down during the import",
            started_by="user:boss", finished_at=datetime.now(UTC)),
            producer="catalog", aggregate_id="import:job-1", aggregate_version=1)
        boss = n.person_headers("user:boss", "CN-U1", roles=("institution-admin",))

        async def told() -> bool:
            return len((await n.client.get("/notify/notifications", headers=boss)).json()["items"]) == 1

        await eventually(told)
        message = (await n.client.get("/notify/notifications", headers=boss)).json()["items"][0]
        assert message["message_kind"] == "admin.import_finished"
        assert "导入失败" in message["title"] and "loc.mrc" in message["title"]
        patron = n.person_headers("user:ada", "CN-U1")
        assert (await n.client.get("/notify/notifications", headers=patron)).json()["items"] == []
