"""Test helpers for services: real tokens signed by a throwaway key the service is told to trust, and events
published straight onto a transport as another service's relay would. Nothing here replaces real infrastructure.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from pydantic import BaseModel

from bibliomesh_contracts import new_envelope
from bibliomesh_contracts.events.directory import InstitutionCreatedV1, InstitutionSnapshot, InstitutionUpdatedV1
from meshkit.bus import OutgoingMessage, Transport
from meshkit.runtime import ServiceRuntime


class TokenFactory:
    def __init__(self, issuer: str = "http://127.0.0.1:8000", audience: str = "bibliomesh") -> None:
        self.issuer = issuer
        self.audience = audience
        self.key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256", "use": "sig"})

    async def key_source(self, _refresh: bool) -> KeySet:
        return KeySet([self.key])

    def token(self, institution: str, scopes: Iterable[str] = (), roles: Iterable[str] = ("staff",),
              subject: str | None = None, expires_in: int = 300, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": subject or f"user:{uuid.uuid4().hex[:8]}",
            "iat": now, "nbf": now, "exp": now + expires_in, "jti": uuid.uuid4().hex,
            "institution": institution, "roles": list(roles), "scope": " ".join(scopes), **claims,
        }
        return jwt.encode({"alg": "ES256", "kid": self.key.kid, "typ": "at+jwt"}, body, self.key)

    def headers(self, institution: str, scopes: Iterable[str] = (), roles: Iterable[str] = ("staff",),
                **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(institution, scopes, roles, **claims)}"}


def trust(app: FastAPI, tokens: TokenFactory) -> None:
    runtime: ServiceRuntime = app.state.runtime
    runtime.verifier.keys = tokens.key_source


@asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (migrations, relay, consumers) and give a client that calls it in-process."""
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url
    ) as client:
        yield client


async def publish_event(transport: Transport, payload: BaseModel, *, producer: str, aggregate_id: str,
                        aggregate_version: int) -> str:
    envelope = new_envelope(payload, producer=producer, aggregate_id=aggregate_id,
                            aggregate_version=aggregate_version)
    await transport.publish([OutgoingMessage(message_id=str(envelope.id), routing_key=envelope.type,
                                             body=envelope.model_dump_json().encode())])
    return str(envelope.id)


async def publish_institution(transport: Transport, snapshot: InstitutionSnapshot) -> str:
    payload: BaseModel = (InstitutionCreatedV1(institution=snapshot) if snapshot.version == 1
                          else InstitutionUpdatedV1(institution=snapshot, changed_fields=["name_en"]))
    return await publish_event(transport, payload, producer="auth", aggregate_id=snapshot.code,
                               aggregate_version=snapshot.version)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 60.0, interval: float = 0.05) -> None:
    """Wait until `check()` is true; fail after `within` seconds. For asynchronous effects, not for timing: the
    bound is generous (a passing check returns as soon as it holds), since a machine running other work slowed a
    consumer past 20 s once."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


# Under pytest-xdist each worker hands out ports from a range of its own, below the kernel's ephemeral range (from
# 32768), so a port one worker picked and has not bound yet is never picked by another or by an outgoing connection.
# Twelve ranges fit below it; a thirteenth worker would share the first's (`make test` runs two).
_WORKER_PORTS_START = 20_000
_WORKER_PORTS = 1_000
_next_port = itertools.count()


def free_port() -> int:
    """A loopback port nothing listens on (for a moment: bind it soon)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])
    first = _WORKER_PORTS_START + int(worker[2:]) % 12 * _WORKER_PORTS
    for _ in range(_WORKER_PORTS):
        port = first + next(_next_port) % _WORKER_PORTS
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue   # something else listens there
            return port
    raise RuntimeError(f"no free port in {first}-{first + _WORKER_PORTS - 1}")


@asynccontextmanager
async def serving(command: list[str], env: dict[str, str], ready_url: str,
                  within: float = 30.0) -> AsyncIterator[asyncio.subprocess.Process]:
    """`command` (a `serve` command) in a process of its own, once `ready_url` answers 200. At the end it gets
    SIGTERM, on which it must stop cleanly (exit status 0) within 15 s."""
    with tempfile.TemporaryFile() as output:
        def said() -> str:
            output.seek(0)
            return output.read().decode(errors="replace")[-4000:]

        process = await asyncio.create_subprocess_exec(*command, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=output, stderr=output)
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                async def ready() -> bool:
                    if process.returncode is not None:
                        raise AssertionError(f"{command} exited with {process.returncode}:\n{said()}")
                    try:
                        return (await client.get(ready_url)).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(ready, within=within, interval=0.1)
            yield process
            process.send_signal(signal.SIGTERM)
            status = await asyncio.wait_for(process.wait(), 15)
            assert status == 0, f"{command} did not stop cleanly on SIGTERM ({status}):\n{said()}"
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
