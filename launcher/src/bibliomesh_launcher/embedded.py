"""Embedded mode: every service in one process, each with its own SQLite file, talking over HTTP and the
embedded bus exactly as they would across machines."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from bibliomesh_gateway.app import create_app as create_gateway
from bibliomesh_gateway.settings import GatewaySettings
from bibliomesh_launcher.services import SERVICES
from bibliomesh_web.app import create_app as create_web
from bibliomesh_web.settings import WebSettings
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.telemetry import configure_tracing

log = logging.getLogger(__name__)
GATEWAY_SHARED_SETTINGS = ("log_level", "log_json", "otel_exporter", "environment")


@dataclass
class EmbeddedPlatform:
    data_dir: Path
    port: int = 8000
    host: str = "127.0.0.1"
    public_url: str = ""
    bootstrap_client: tuple[str, str] | None = None
    extra_settings: dict[str, Any] = field(default_factory=dict)
    gateway_settings: dict[str, Any] = field(default_factory=dict)
    """`GatewaySettings` fields to override (rate limits, timeouts, ...)."""
    web_demo_password: str = ""  # shown on the web front page when the demo accounts are loaded

    def __post_init__(self) -> None:
        self.public_url = self.public_url or f"http://{self.host}:{self.port}"
        self.transport = EmbeddedTransport(self.data_dir / "bus.sqlite")
        self._servers: list[uvicorn.Server] = []
        self.service_urls: dict[str, str] = {}
        self.web_url = ""

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        return sock

    def build(self) -> list[tuple[FastAPI, socket.socket]]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        configure_tracing(service="bibliomesh")  # one process, one tracer provider: named for all, not the first
        sockets = {spec.name: self._bind() for spec in SERVICES}
        self.service_urls = {name: f"http://127.0.0.1:{s.getsockname()[1]}" for name, s in sockets.items()}
        apps: list[tuple[FastAPI, socket.socket]] = []
        for spec in SERVICES:
            overrides: dict[str, Any] = {
                "data_dir": self.data_dir, "bus_url": "embedded", "database_url": "",
                "token_issuer": self.public_url, "auth_url": self.service_urls["auth"],
                "public_url": self.public_url, **self.extra_settings,
            }
            if spec.name == "ill":
                overrides = {"catalog_url": self.service_urls["catalog"], **overrides}
            if spec.name == "catalog":
                # Trying the platform on one machine: harvesting an OAI-PMH server on localhost is fine here.
                overrides = {"harvest_allow_private": True, **overrides}
            if spec.name == "notify":
                # Trying the platform on one machine: webhooks to a receiver on localhost are fine here.
                overrides = {"webhook_allow_private": True, **overrides}
            if spec.name == "auth":
                # A demo person gets a token with curl: the password grant is on in embedded mode only.
                # ... and an identity provider on localhost (a university's test IdP) is fine here too.
                overrides = {"password_grant_enabled": True, "identity_provider_allow_private": True, **overrides}
            if spec.name == "auth" and self.bootstrap_client:
                overrides["bootstrap_client_id"], secret = self.bootstrap_client
                from pydantic import SecretStr

                overrides["bootstrap_client_secret"] = SecretStr(secret)
            settings = spec.settings().model_copy(update=overrides)
            apps.append((spec.create_app(settings=settings, transport=self.transport, migrate=True),
                         sockets[spec.name]))
        urls = self.service_urls
        apps.append(self._web())
        # Rate limits in memory (no Redis in embedded mode); tokens carry the public URL as their issuer.
        shared = {key: value for key, value in self.extra_settings.items() if key in GATEWAY_SHARED_SETTINGS}
        gateway_settings = GatewaySettings(**{
            "mode": "embedded", "auth_url": urls["auth"], "catalog_url": urls["catalog"], "ill_url": urls["ill"],
            "notify_url": urls["notify"], "web_url": self.web_url, "token_issuer": self.public_url,
            **shared, **self.gateway_settings})
        gateway_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        gateway_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        gateway_socket.bind((self.host, self.port))
        apps.append((create_gateway(gateway_settings), gateway_socket))
        return apps

    def _web(self) -> tuple[FastAPI, socket.socket]:
        """The web front end on a loopback port of its own, like a service: the gateway sends it every path no
        service claims (`web_url`), and it calls the public API through the gateway."""
        sock = self._bind()
        self.web_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        local = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        # Its metrics beside its pages (`/web/metrics`, through the gateway), like the gateway's own here.
        settings = WebSettings(public_url=self.public_url, api_url=f"http://{local}:{self.port}",
                               demo_password=self.web_demo_password, metrics_port=0,
                               log_json=bool(self.extra_settings.get("log_json", True)))
        return create_web(settings), sock

    async def serve(self, ready: asyncio.Event | None = None) -> None:
        await self.transport.start()
        apps = self.build()
        self._servers = [uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False,
                                                       loop="none", http="httptools"))
                         for app, _ in apps]
        # `_serve` rather than `serve`: one set of signal handlers (ours) for all the servers in this process.
        tasks = [asyncio.create_task(server._serve(sockets=[sock]))
                 for server, (_, sock) in zip(self._servers, apps, strict=True)]
        try:
            while not all(server.started for server in self._servers):
                if any(task.done() for task in tasks):
                    self.stop()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    raise RuntimeError(f"the platform could not start (is port {self.port} already in use?)")
                await asyncio.sleep(0.05)
            if ready is not None:
                ready.set()
            await asyncio.gather(*tasks)
        finally:
            await self.transport.close()

    def stop(self) -> None:
        # The gateway goes first so no new request reaches a service that is shutting down.
        for server in reversed(self._servers):
            server.should_exit = True


def data_dir_from_env() -> Path:
    return Path(os.environ.get("DATA_DIR", ".data"))
