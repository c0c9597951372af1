"""A service started while RabbitMQ is down serves at once, and consumes and publishes once the broker is back.

Before, startup waited for the broker: a pod (re)started during a broker outage never answered its startup probe and
crash-looped for as long as the outage lasted. The outage here is a vhost that does not exist yet, so the broker
refuses every connection to it; creating it is the broker coming back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.infra import RABBITMQ_USER, VirtualHost, delete_vhost, rabbitmqctl, require_rabbitmq, unique_name
from tests.support.mesh import Mesh
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.fault]


async def test_a_service_started_during_a_broker_outage_serves_then_catches_up(tmp_path: Path) -> None:
    require_rabbitmq()
    vhost = VirtualHost(unique_name("bm-test-late").replace("_", "-"))
    mesh = Mesh("rabbitmq", tmp_path, vhost)
    try:
        async with asyncio.timeout(30):  # it used to wait here for as long as the broker was unreachable
            circulation = await mesh.service("circulation", bindings=["directory.#"])
        readiness = await circulation.runtime.readiness()
        assert readiness["database"] == "ok"
        assert readiness["bus"].startswith("unreachable")
        directory = await mesh.service("directory")
        envelopes = await directory.publish(["CN-UNI01", "CN-UNI02"])  # kept in the outbox meanwhile

        await asyncio.to_thread(rabbitmqctl, "add_vhost", vhost.name)
        await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", vhost.name, RABBITMQ_USER, ".*", ".*", ".*")

        async def queues() -> str:
            return await asyncio.to_thread(rabbitmqctl, "list_queues", "-p", vhost.name, "--silent", "name")

        await wait_for(queues, lambda names: "circulation.directory" in names.split(), timeout=60,
                       what="the consumer to subscribe once the broker is back")
        assert (await circulation.runtime.readiness())["bus"] == "ok"
        assert await directory.flush() == 2
        await circulation.wait_applied([str(e.id) for e in envelopes], timeout=30)
    finally:
        try:
            await mesh.close()
        finally:
            if vhost.name in await asyncio.to_thread(rabbitmqctl, "list_vhosts", "--silent"):
                await delete_vhost(vhost)
