"""Distributed mode on one machine: one process per service plus the gateway, against PostgreSQL and RabbitMQ."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

SERVICE_PORTS = {"auth": 8001, "catalog": 8002, "ill": 8003, "notify": 8004}
ENV_PREFIX = {"auth": "AUTH_", "catalog": "CATALOG_", "ill": "ILL_", "notify": "NOTIFY_"}


@dataclass(frozen=True)
class DistributedConfig:
    postgres_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_prefix: str = "bibliomesh_"
    gateway_port: int = 8000
    host: str = "127.0.0.1"
    service_ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    redis_url: str = "redis://127.0.0.1:6379/0"
    """The gateway's rate-limit counters, shared by its replicas."""
    web_port: int = 8005
    """The web front end, behind the gateway at `/`."""
    gateway_metrics_port: int = 9000
    web_metrics_port: int = 9005
    """Where the gateway and the web front end serve their Prometheus metrics (never on their public ports)."""

    @classmethod
    def on_port(cls, port: int) -> DistributedConfig:
        """The gateway on `port`, auth, catalog, ill and notify on the next four, the web front end on the fifth,
        their metrics 1000 above the gateway's and the web front end's (8000: 8001-8005, 9000 and 9005)."""
        return cls(gateway_port=port, service_ports={name: port + 1 + offset for offset, name in enumerate(ENV_PREFIX)},
                   web_port=port + 5, gateway_metrics_port=port + 1000, web_metrics_port=port + 1005)

    def ports(self) -> dict[str, int]:
        """Every port the platform listens on, by what listens there."""
        return {"gateway": self.gateway_port, **self.service_ports, "web": self.web_port,
                "gateway metrics": self.gateway_metrics_port, "web metrics": self.web_metrics_port}

    def service_env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        public = f"http://{self.host}:{self.gateway_port}"
        for name, prefix in ENV_PREFIX.items():
            env.setdefault(f"{prefix}DATABASE_URL", f"{self.postgres_url}/{self.database_prefix}{name}")
            env.setdefault(f"{prefix}BUS_URL", self.amqp_url)
            env.setdefault(f"{prefix}TOKEN_ISSUER", public)
            env.setdefault(f"{prefix}PUBLIC_URL", public)
            env.setdefault(f"{prefix}AUTH_URL", f"http://127.0.0.1:{self.service_ports['auth']}")
            env.setdefault(f"GATEWAY_{name.upper()}_URL", f"http://127.0.0.1:{self.service_ports[name]}")
        env.setdefault("ILL_CATALOG_URL", f"http://127.0.0.1:{self.service_ports['catalog']}")
        env.setdefault("GATEWAY_MODE", "distributed")
        env.setdefault("GATEWAY_REDIS_URL", self.redis_url)
        env.setdefault("GATEWAY_TOKEN_ISSUER", public)
        env.setdefault("GATEWAY_WEB_URL", f"http://127.0.0.1:{self.web_port}")
        env.setdefault("GATEWAY_METRICS_PORT", str(self.gateway_metrics_port))
        env.setdefault("WEB_METRICS_PORT", str(self.web_metrics_port))
        env.setdefault("WEB_PUBLIC_URL", public)
        env.setdefault("WEB_API_URL", public)
        return env


def command_for(name: str, port: int) -> list[str]:
    return [sys.executable, "-m", "bibliomesh_launcher.cli", name, "serve", "--host", "127.0.0.1", "--port", str(port)]


def start_processes(config: DistributedConfig, env: dict[str, str]) -> dict[str, subprocess.Popen[bytes]]:
    # Our own interpreter and modules, no shell: nothing untrusted reaches these command lines.
    processes = {name: subprocess.Popen(command_for(name, port), env=env)  # noqa: S603
                 for name, port in config.service_ports.items()}
    processes["web"] = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bibliomesh_web.cli", "serve", "--host", "127.0.0.1", "--port", str(config.web_port)],
        env=env)
    processes["gateway"] = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bibliomesh_gateway.cli", "serve", "--host", config.host,
         "--port", str(config.gateway_port)], env=env)
    return processes


class ProcessExited(RuntimeError):
    """One of the platform's processes is gone; the platform cannot be up without it."""

    def __init__(self, name: str, returncode: int) -> None:
        super().__init__(f"the {name} process exited with code {returncode}")
        self.name = name
        self.returncode = returncode


def first_exited(processes: Mapping[str, subprocess.Popen[bytes]]) -> ProcessExited | None:
    for name, process in processes.items():
        if (returncode := process.poll()) is not None:
            return ProcessExited(name, returncode)
    return None


def wait_ready(url: str, timeout: float = 60.0,
               processes: Mapping[str, subprocess.Popen[bytes]] | None = None) -> dict[str, object]:
    """Wait until the gateway's /readyz is 200; raise `ProcessExited` as soon as one of `processes` has exited (a
    crash at start would otherwise look like a slow start until the timeout)."""
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        if processes and (exited := first_exited(processes)):
            raise exited
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            last = response.json()
            if response.status_code == 200:
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"platform not ready after {timeout:.0f}s: {last}")


def stop_processes(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def base_environment() -> dict[str, str]:
    return dict(os.environ)
