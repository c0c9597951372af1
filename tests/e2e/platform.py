"""Starting the whole platform for end-to-end tests: embedded in this process, or distributed in subprocesses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bibliomesh_launcher import distributed
from bibliomesh_launcher.embedded import EmbeddedPlatform
from meshkit.testing import free_port
from tests.support.infra import database_url, drop_database, rabbitmq_vhost, unique_name

ADMIN = ("e2e-admin", "e2e-admin-secret-long-enough-for-prod")
SERVICES = ("auth", "catalog", "ill", "notify")


@asynccontextmanager
async def embedded_platform(data_dir: Path, web_demo_password: str = "",
                            gateway_settings: dict[str, object] | None = None,
                            **settings: object) -> AsyncIterator[EmbeddedPlatform]:
    """`make run`'s platform on free ports; `web_demo_password` shows the demo password on the home page as
    `make run` does; `gateway_settings` as the launcher takes them (`auth_url` elsewhere: auth down for the
    gateway)."""
    platform = EmbeddedPlatform(data_dir=data_dir, port=free_port(), bootstrap_client=ADMIN,
                                extra_settings={"log_json": True, **settings}, web_demo_password=web_demo_password,
                                gateway_settings=gateway_settings or {})
    ready = asyncio.Event()
    serving = asyncio.create_task(platform.serve(ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        waiting.cancel()
        serving.result()
    try:
        yield platform
    finally:
        platform.stop()
        await serving


@dataclass(frozen=True)
class DistributedPlatform:
    url: str
    """The gateway's."""
    databases: dict[str, str]
    """Each service's PostgreSQL database, by service name."""


@asynccontextmanager
async def distributed_platform(tmp_path: Path, **settings: str) -> AsyncIterator[DistributedPlatform]:
    """Every service in its own process on PostgreSQL databases and a RabbitMQ vhost made for this test. The
    databases are created and migrated by `bibliomesh migrate --distributed`, as `make run-distributed` does.
    `settings`: environment variables for the processes (`ILL_CONSUMER_BATCHES="false"`)."""
    databases = {name: unique_name(f"bm_e2e_{name}").lower() for name in SERVICES}
    try:
        async with rabbitmq_vhost("bm-e2e") as vhost:
            config = distributed.DistributedConfig(gateway_port=free_port(),
                                                   service_ports={name: free_port() for name in SERVICES},
                                                   web_port=free_port(), gateway_metrics_port=free_port(),
                                                   web_metrics_port=free_port())
            env = {**os.environ, "AUTH_BOOTSTRAP_CLIENT_ID": ADMIN[0], "AUTH_BOOTSTRAP_CLIENT_SECRET": ADMIN[1],
                   "DATA_DIR": str(tmp_path), **settings}
            for name, prefix in distributed.ENV_PREFIX.items():
                env[f"{prefix}DATABASE_URL"] = database_url(databases[name])
                env[f"{prefix}BUS_URL"] = vhost.url()
                env[f"{prefix}RETRY_DELAYS_SECONDS"] = "[0.2, 0.5]"
            # Rate-limit counters of this run only: other runs on the machine share the Redis.
            env["GATEWAY_RATE_LIMIT_KEY_PREFIX"] = f"bm-e2e-{uuid.uuid4().hex}"
            subprocess.run([sys.executable, "-m", "bibliomesh_launcher.cli", "migrate", "--distributed"], env=env,
                           check=True, capture_output=True)
            env = config.service_env(env)
            processes = distributed.start_processes(config, env)
            base = f"http://127.0.0.1:{config.gateway_port}"
            try:
                # Seven interpreters importing at once on two busy cores took over a minute once: a wait, not a
                # measure, so a generous one (a process that dies still fails at once).
                await asyncio.to_thread(distributed.wait_ready, base, 180.0, processes)
                yield DistributedPlatform(base, databases)
            finally:
                distributed.stop_processes(processes)
    finally:
        for name in databases.values():
            await drop_database(name)


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
