"""The embedded platform with its demo data, served from a thread of its own so that Playwright's synchronous API
can drive a browser from the test thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bibliomesh_launcher.demo import CLI_CLIENT, DEMO_PASSWORD, load_demo_data
from meshkit.testing import eventually
from tests.e2e.platform import ADMIN, embedded_platform

START_SECONDS = 180


@dataclass(frozen=True)
class LivePlatform:
    url: str

    def token(self, institution: str, username: str) -> str:
        """A demo person's access token (password grant), for arranging what a test needs through the API."""
        answer = httpx.post(f"{self.url}/auth/token", data={
            "grant_type": "password", "client_id": CLI_CLIENT, "institution": institution, "username": username,
            "password": DEMO_PASSWORD}, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def api(self, institution: str, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(institution, username)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


async def _broker_caught_up(url: str) -> None:
    """The broker learns holdings from events; the demo's last records (Chinese, at the regional library) known to
    it means the rest are too (one consumer, in order)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        token = (await client.post("/auth/token", data={
            "grant_type": "password", "client_id": CLI_CLIENT, "institution": "CN-DL-RPL", "username": "staff",
            "password": DEMO_PASSWORD})).json()["access_token"]
        hits = (await client.get("/catalog/search", params={"q": "中华人民共和国史"})).json()["results"]
        cluster = hits[0]["cluster_id"]

        async def known() -> bool:
            items = (await client.get(f"/ill/holdings/{cluster}", headers={"Authorization": f"Bearer {token}"}))
            return items.status_code == 200 and "CN-DL-RPL" in {i["institution"] for i in items.json()}

        await eventually(known, within=90, interval=0.2)


@contextmanager
def live_platform(data_dir: Path) -> Iterator[LivePlatform]:
    started = threading.Event()
    found: dict[str, object] = {}
    stopping: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        stopping.append((asyncio.get_running_loop(), stop))
        try:
            async with embedded_platform(data_dir, web_demo_password=DEMO_PASSWORD) as platform:
                await load_demo_data(platform.public_url, *ADMIN)
                await _broker_caught_up(platform.public_url)
                found["url"] = platform.public_url
                started.set()
                await stop.wait()
        except BaseException as exc:
            found["error"] = exc
            started.set()
            raise

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="web-test-platform", daemon=True)
    thread.start()
    if not started.wait(START_SECONDS) or "error" in found:
        raise RuntimeError(f"the platform did not start: {found.get('error')!r}")
    try:
        yield LivePlatform(url=str(found["url"]))
    finally:
        loop, stop = stopping[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
