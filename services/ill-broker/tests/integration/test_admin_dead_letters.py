"""Every service lists its dead letters and replays them over HTTP, for platform admins only."""

from __future__ import annotations

from pathlib import Path

from broker_fixtures import broker

from meshkit.bus import OutgoingMessage
from meshkit.testing import eventually


async def test_a_poison_message_is_listed_and_replayed_by_a_platform_admin(tmp_path: Path) -> None:
    async with broker(tmp_path, retry_delays_seconds=[0.05]) as b:
        await b.runtime.bus.publish([OutgoingMessage(message_id="poison-1", routing_key="directory.institution.created",
                                                     body=b"this is not an event envelope")])
        admin = b.tokens.headers("PLATFORM", roles=["platform-admin"])

        async def parked() -> bool:
            found = await b.client.get("/ill/admin/dead-letters", headers=admin)
            return found.status_code == 200 and [d["message_id"] for d in found.json()] == ["poison-1"]

        await eventually(parked)
        letter = (await b.client.get("/ill/admin/dead-letters", headers=admin)).json()[0]
        assert letter["queue"] == "ill.directory" and "envelope" in letter["error"]

        staff = b.staff("CN-U1-ENG")
        assert (await b.client.get("/ill/admin/dead-letters", headers=staff)).status_code == 403
        assert (await b.client.get("/ill/admin/dead-letters")).status_code == 401
        bad = await b.client.post("/ill/admin/dead-letters/replay", headers=admin, json={"queue": "nope"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "queue"

        replayed = await b.client.post("/ill/admin/dead-letters/replay", headers=admin,
                                       json={"message_ids": ["poison-1"]})
        assert replayed.status_code == 200 and replayed.json()["ill.directory"] == 1
