"""CPU per proxied call, in process: the gateway's ASGI app (as `gateway_proxy.py` runs it) and the bare aiohttp
pass-through driven directly by 32 concurrent callers against the real upstream process, without a server or a
load generator in between. A tool for working on the gateway's hot path, not part of `make bench`:

  .venv/bin/python -m bench.gateway_cpu                    # CPU time per call, median-ish of 12 blocks, both apps
  .venv/bin/python -m bench.gateway_cpu --instructions     # also instructions per call under valgrind's callgrind

`bench/run.py gateway` reports the instruction counts too (group `cpu`) when valgrind is installed.

Instruction counts are nearly deterministic (a few thousand per call apart between runs), so they show changes of
1-2% that the wall clock of a shared two-core machine hides; they leave out the kernel's work (the sockets), which
both apps share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.gateway_env import JWKS_ENV, aiohttp_passthrough, gateway_app
from bench.gateway_proxy import TRACING, _free_port, _token, _wait_until_up, stop_all

ROOT = Path(__file__).resolve().parent.parent
CALLERS = 32
INSTRUMENT_ENV = "BENCH_GATEWAY_CPU_CALLGRIND"
# Under callgrind a call takes some fifty times as long, so a batch sent every second would hold a few spans instead
# of the hundreds it holds at full speed, and each span would carry a large share of an HTTP post: the count would
# depend on the clock. Batches of a fixed size instead (the SDK's standard variables), sent as they fill.
EXPORT_BY_COUNT = {"OTEL_BSP_SCHEDULE_DELAY": "600000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100"}


def _scope(token: str) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": "/ill/ping", "raw_path": b"/ill/ping", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8080"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8080), "state": {}}


async def _drive(app: Any, token: str, calls: int, blocks: int) -> float:
    """CPU microseconds per call: the lower quartile of `blocks` blocks of `calls` calls (the machine's noise only
    ever adds time)."""
    lifespan: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    ready = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"].endswith(".complete"):
            ready.set()

    await lifespan.put({"type": "lifespan.startup"})
    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, lifespan.get,
                                     lifespan_send))
    await ready.wait()
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def caller(count: int) -> None:
        for _ in range(count):
            await app(_scope(token), receive, send)

    await asyncio.gather(*(caller(200) for _ in range(CALLERS)))  # warm: connections, caches, the token
    _callgrind("on")
    results = []
    for _ in range(blocks):
        statuses.clear()
        started = time.process_time()
        await asyncio.gather(*(caller(calls // CALLERS) for _ in range(CALLERS)))
        results.append(1e6 * (time.process_time() - started) / len(statuses))
        if set(statuses) != {200}:
            raise RuntimeError(f"answers other than 200: {set(statuses)}")
    _callgrind("off")
    ready.clear()
    await lifespan.put({"type": "lifespan.shutdown"})
    await ready.wait()
    await task
    return sorted(results)[len(results) // 4]


def _callgrind(state: str) -> None:
    if os.environ.get(INSTRUMENT_ENV):
        subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], capture_output=True, check=False)


def _apps(upstream: str) -> dict[str, Callable[[], Any]]:
    return {"passthrough": lambda: aiohttp_passthrough(upstream), "gateway": lambda: gateway_app(upstream)}


def measure(app_name: str, upstream: str, token: str, calls: int, blocks: int) -> float:
    import uvloop

    from meshkit.heap import settle_heap

    app = _apps(upstream)[app_name]()
    settle_heap()
    return uvloop.run(_drive(app, token, calls, blocks))


def _instructions(app_name: str, env: dict[str, str], upstream: str, token: str, calls: int) -> int:
    """Instructions per call, counted by callgrind over `calls` calls after the warm-up (one block)."""
    log = ROOT / "bench" / "results" / f"callgrind-{app_name}.log"
    log.parent.mkdir(exist_ok=True)
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={os.devnull}",
               sys.executable, "-m", "bench.gateway_cpu", "--only", app_name, "--upstream", upstream, "--token", token,
               "--calls", str(calls), "--blocks", "1"]
    with open(log, "w") as out:
        subprocess.run(command, cwd=ROOT, env={**env, **EXPORT_BY_COUNT, INSTRUMENT_ENV: "1"},
                       stdout=subprocess.DEVNULL, stderr=out, check=True)
    match = re.search(r"Collected : (\d+)", log.read_text())
    if match is None:
        raise RuntimeError(f"no instruction count in {log}")
    return int(match.group(1)) // (calls // CALLERS * CALLERS)


def instruction_counts(calls: int = 2000) -> dict[str, int]:
    """Instructions per call of the pass-through and the gateway (valgrind must be installed), each measured in a
    process of its own against one upstream and one collector started here."""
    jwks, token = _token()
    with _upstream(jwks) as (upstream, env):
        return {name: _instructions(name, env, upstream, token, calls) for name in ("passthrough", "gateway")}


@contextmanager
def _upstream(jwks: dict[str, object]) -> Iterator[tuple[str, dict[str, str]]]:
    """The benchmark's upstream and OTLP receiver, running; yields the upstream's URL and the apps' environment."""
    upstream_port, collector_port = _free_port(), _free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    env = {**os.environ, JWKS_ENV: json.dumps(jwks), "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
           **TRACING}
    servers = [subprocess.Popen([sys.executable, "-m", "bench.gateway_env", role, "--port", str(port)], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for role, port in (("upstream", upstream_port), ("collector", collector_port))]
    try:
        _wait_until_up(f"{upstream}/ill/ping")
        yield upstream, env
    finally:
        stop_all(servers)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["passthrough", "gateway"])
    parser.add_argument("--calls", type=int, default=1600)
    parser.add_argument("--blocks", type=int, default=12)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--upstream", default="", help="(internal) a running upstream's URL")
    parser.add_argument("--token", default="", help="(internal) the bearer token its JWKS accepts")
    args = parser.parse_args(argv)
    if args.upstream:  # one measurement in this process (under callgrind, when counting)
        print(f"{args.only} {measure(args.only, args.upstream, args.token, args.calls, args.blocks):.1f} us/call")
        return
    if args.instructions and shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package valgrind)")
    jwks, token = _token()
    with _upstream(jwks) as (upstream, env):
        for name in [args.only] if args.only else ["passthrough", "gateway"]:
            one = [sys.executable, "-m", "bench.gateway_cpu", "--only", name, "--upstream", upstream, "--token", token,
                   "--calls", str(args.calls), "--blocks", str(args.blocks)]
            print(subprocess.run(one, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip())
            if args.instructions:
                print(f"{name} {_instructions(name, env, upstream, token, 2000):,} instructions/call")


if __name__ == "__main__":
    main(sys.argv[1:])
