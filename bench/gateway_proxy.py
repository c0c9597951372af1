"""Gateway: throughput and added latency of a call through the gateway, against the same call made directly and
through a bare pass-through proxy, all in the same run (processes in `gateway_env.py`).

On loopback, each server one uvicorn worker (uvloop, httptools), the load generator in its own process (`wrk`
when installed, else an aiohttp client), 32 connections, GET /ill/ping of a small FastAPI upstream with a valid
bearer token:
  throughput.direct                  baseline: the upstream called directly
  throughput.passthrough.<client>    a bare pass-through proxy with that upstream client (aiohttp, httpx, httpx2):
                                     raw ASGI, nothing but forwarding; `fastapi-aiohttp`: the same as a minimal
                                     FastAPI app with one catch-all route (the kind of pass-through the issue used)
  throughput.gateway                 the real gateway: edge auth + rate limiting (memory) + request ids, tracing,
                                     JSON access logs; compared with the raw aiohttp pass-through (target >= 0.8x)
  throughput.gateway_vs_*            the same number compared with the FastAPI pass-through and the direct call
  throughput.gateway.<variant>       the gateway with every trace recorded and exported, and with no trace
                                     recorded and no access log: where the time goes
  cpu.per_call.<proxy>               CPU (user + system) the pass-through's and the gateway's process used per
                                     call during the throughput rounds (/proc), the median of the rounds
  latency.*                          one request at a time, no load: median and p99; `added_p50` is the gateway's
                                     (or pass-through's) median minus the direct median (target < 1 ms)
Each throughput number is the median of the rounds; targets take turns within a round.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import DEVNULL, Popen

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from bench.gateway_env import EXPORTER_ENV, ISSUER, JWKS_ENV, SETTLE_HEAP_ENV
from bench.report import Measurement, median_of, percentile

NAME = "gateway"
DESCRIPTION = "gateway: throughput and added latency vs a bare pass-through proxy and direct calls"
ROOT = Path(__file__).resolve().parent.parent
PATH = "/ill/ping"
CONNECTIONS = 32


@dataclass(frozen=True)
class Params:
    rounds: int
    seconds: float
    latency_count: int
    instruction_calls: int


FULL = Params(rounds=5, seconds=3, latency_count=2000, instruction_calls=2000)
QUICK = Params(rounds=1, seconds=2, latency_count=300, instruction_calls=640)


def _clients() -> list[str]:
    clients = ["aiohttp", "fastapi-aiohttp", "httpx"]
    try:
        import httpx2  # noqa: F401
    except ImportError:
        print("httpx2 is not installed: its pass-through is not measured", file=sys.stderr)
    else:
        clients.append("httpx2")
    return clients


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token() -> tuple[dict[str, object], str]:
    key = ECKey.generate_key("P-256", parameters={"kid": "bench"})
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "bibliomesh", "sub": "client:bench", "institution": "BENCH", "iat": now,
              "exp": now + 3600, "scope": "ill:request", "roles": ["staff"], "client_id": "bench", "jti": "b1"}
    token = jwt.encode({"alg": "ES256", "kid": "bench", "typ": "at+jwt"}, claims, key)
    return {"keys": [key.as_dict(private=False)]}, token


# The gateway as deployed with the observability component (deploy/k8s/components/observability/otlp.env):
# spans exported over OTLP/HTTP to a collector, one new trace in ten recorded (a caller's sampled trace always).
TRACING = {EXPORTER_ENV: "otlp", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1",
           "OTEL_BSP_SCHEDULE_DELAY": "1000"}
# The gateway again with the standard knobs turned, to show where its time goes.
VARIANTS = {
    "gateway.every_trace_recorded": {**TRACING, "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    "gateway.no_traces_no_access_log": {"OTEL_TRACES_SAMPLER": "always_off", "GATEWAY_LOG_LEVEL": "WARNING"},
}


@contextmanager
def _servers(clients: list[str], jwks: dict[str, object],
             logs: Path) -> Iterator[tuple[dict[str, str], str, dict[str, int]]]:
    upstream_port, collector_port = _free_port(), _free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    collector = f"http://127.0.0.1:{collector_port}"
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "direct": (["upstream"], {}), "gateway": (["gateway", "--upstream", upstream], TRACING),
        **{f"passthrough.{c}": (["passthrough", c, "--upstream", upstream], {}) for c in clients},
        "passthrough.aiohttp.settled_heap": (["passthrough", "aiohttp", "--upstream", upstream],
                                             {SETTLE_HEAP_ENV: "1"}),
        **{name: (["gateway", "--upstream", upstream], env) for name, env in VARIANTS.items()}}
    ports = {name: upstream_port if name == "direct" else _free_port() for name in commands}
    pids: dict[str, int] = {}
    processes: list[Popen[bytes]] = [Popen([sys.executable, "-m", "bench.gateway_env", "collector", "--port",
                                            str(collector_port)], cwd=ROOT, stdout=DEVNULL, stderr=DEVNULL)]
    try:
        for name, (args, extra_env) in commands.items():
            env = {**os.environ, JWKS_ENV: json.dumps(jwks), "OTEL_EXPORTER_OTLP_ENDPOINT": collector, **extra_env}
            with open(logs / f"{name}.log", "wb") as log:
                processes.append(Popen([sys.executable, "-m", "bench.gateway_env", *args, "--port",
                                        str(ports[name])], cwd=ROOT, env=env, stdout=DEVNULL, stderr=log))
            pids[name] = processes[-1].pid
        urls = {name: f"http://127.0.0.1:{port}{PATH}" for name, port in ports.items()}
        for url in [*urls.values(), f"{collector}/spans"]:
            _wait_until_up(url)
        yield urls, collector, pids
    finally:
        stop_all(processes)


def stop_all(processes: list[Popen[bytes]]) -> None:
    """Asks every server to stop, then waits for each (all stop at once, not one after the other)."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (`/proc/<pid>/stat`: its 14th and 15th fields)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def _throughput(url: str, seconds: float, token: str) -> float:
    header = f"Authorization: Bearer {token}"
    if shutil.which("wrk"):
        out = await _output("wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "-H", header, url)
        if "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"{url}: wrk saw errors:\n{out}")
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if match is None:
            raise RuntimeError(f"unexpected wrk output:\n{out}")
        return float(match.group(1))
    result = json.loads(await _output(sys.executable, "-m", "bench.gateway_env", "load", url, "--connections",
                                      str(CONNECTIONS), "--seconds", str(seconds), "--header", header))
    if set(result["statuses"]) != {"200"}:
        raise RuntimeError(f"{url}: answers other than 200: {result['statuses']}")
    return float(result["requests"] / result["seconds"])


async def _latencies(url: str, count: int, token: str) -> list[float]:
    samples: list[float] = json.loads(await _output(
        sys.executable, "-m", "bench.gateway_env", "latency", url, "--count", str(count),
        "--header", f"Authorization: Bearer {token}"))
    return samples


async def _output(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({process.returncode})")
    return out.decode()


async def run(quick: bool) -> list[Measurement]:
    params = QUICK if quick else FULL
    clients = _clients()
    jwks, token = _token()
    generator = "wrk" if shutil.which("wrk") else "aiohttp (Python)"
    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = defaultdict(list)  # the serving process's CPU (user + system) per call, in us
    latencies: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bm-bench-gateway-") as logs, \
            _servers(clients, jwks, Path(logs)) as (urls, collector, pids):
        names = list(urls)
        for name in names:  # warm-up: connections open, code paths hot
            await _throughput(urls[name], 1, token)
        for round_ in range(params.rounds):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                used = _cpu_seconds(pids[name])
                rate = await _throughput(urls[name], params.seconds, token)
                rates.setdefault(name, []).append(rate)
                cpu[name].append(1e6 * (_cpu_seconds(pids[name]) - used) / (rate * params.seconds))
        for name in ("direct", "passthrough.aiohttp", "gateway"):
            latencies[name] = await _latencies(urls[name], params.latency_count, token)
        await asyncio.sleep(2)  # the exporters' last batches (sent every second)
        async with httpx.AsyncClient() as client:
            exported = (await client.get(f"{collector}/spans")).json()["spans"]
    detail = {"load_generator": generator, "connections": CONNECTIONS, "seconds": params.seconds}
    found = [Measurement("throughput", name, median_of(values), "req/s",
                         baseline=None if name == "direct" else "passthrough.aiohttp" if name.startswith("gateway")
                         else "direct", samples=values, detail=detail) for name, values in rates.items()]
    for name, baseline in (("gateway_vs_fastapi_passthrough", "passthrough.fastapi-aiohttp"),
                           ("gateway_vs_settled_passthrough", "passthrough.aiohttp.settled_heap"),
                           ("gateway_vs_direct", "direct")):
        found.append(Measurement("throughput", name, median_of(rates["gateway"]), "req/s", baseline=baseline,
                                 samples=rates["gateway"], detail=detail))
    for name in ("passthrough.aiohttp", "gateway"):
        found.append(Measurement("cpu", f"per_call.{name.split('.')[0]}", median_of(cpu[name]), "us/call",
                                 baseline="per_call.passthrough" if name == "gateway" else None,
                                 samples=cpu[name], detail=detail))
    # Proof that the gateways' spans really went out: how many the collector received over the whole run.
    found.append(Measurement("tracing", "spans_exported", exported, "spans"))
    direct_p50 = median_of(latencies["direct"])
    for name, values in latencies.items():
        short = name.split(".")[0]
        found.append(Measurement("latency", f"{short}.p50", median_of(values), "ms",
                                 baseline=None if name == "direct" else "direct.p50", samples=values))
        found.append(Measurement("latency", f"{short}.p99", percentile(values, 99), "ms",
                                 baseline=None if name == "direct" else "direct.p99"))
        if name != "direct":
            found.append(Measurement("latency", f"{short}.added_p50", median_of(values) - direct_p50, "ms"))
    found.extend(_instructions(params))
    return found


def _instructions(params: Params) -> list[Measurement]:
    """Instructions per proxied call under callgrind (`gateway_cpu.py`): nearly deterministic, so the gateway's
    cost against the pass-through's shows through the noise of a shared machine. Skipped without valgrind."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: instructions per call are not counted", file=sys.stderr)
        return []
    from bench.gateway_cpu import instruction_counts  # it builds on this module

    counts = instruction_counts(params.instruction_calls)
    detail = {"calls": params.instruction_calls, "tool": "valgrind --tool=callgrind", "kernel": "not counted"}
    return [Measurement("cpu", "instructions.passthrough", counts["passthrough"], "instr/call", detail=detail),
            Measurement("cpu", "instructions.gateway", counts["gateway"], "instr/call",
                        baseline="instructions.passthrough", detail=detail)]
