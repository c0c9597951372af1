"""Run the benchmarks (`make bench`), print a table and write bench/results/latest.json.

    .venv/bin/python bench/run.py                 # every benchmark, full size
    .venv/bin/python bench/run.py bus --quick     # only the bus benchmark, small sizes

Each benchmark measures its own baseline in the same run and reports ratios to it: the machine is noisy, so
absolute numbers move between runs while the ratios stay comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"

# name -> module with NAME, DESCRIPTION and `async def run(quick: bool) -> list[Measurement]`
BENCHMARKS = {
    "bus": "bench.bus_throughput",
    "search": "bench.search_latency",
    "catalog": "bench.dedup_quality",
    "import_memory": "bench.import_memory",
    "broker": "bench.broker_routing",
    "gateway": "bench.gateway_proxy",
    "notify": "bench.notify_delivery",
    "holdings": "bench.holdings_propagation",
}
# Run only when named: the 1 GB import takes most of an hour on two cores.
ON_REQUEST = {"import_memory"}


def _default() -> list[str]:
    return [name for name in BENCHMARKS if name not in ON_REQUEST]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: {', '.join(_default())}; "
                             f"{', '.join(sorted(ON_REQUEST))} only when named)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick check (about a minute)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default: {RESULTS})")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    return args


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average": os.getloadavg()}


def main(argv: list[str]) -> int:
    args = _parse(argv)
    sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.support.*` live at the repo root
    report = importlib.import_module("bench.report")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = datetime.now(UTC)
    output: dict[str, Any] = {"started_at": started.isoformat(), "quick": args.quick, "machine": _machine(),
                              "benchmarks": {}}
    failed = False
    for name in args.names or _default():
        module = importlib.import_module(BENCHMARKS[name])
        print(f"== {name}: {module.DESCRIPTION}{' (quick)' if args.quick else ''}", flush=True)
        clock = time.perf_counter()
        try:
            measurements = asyncio.run(module.run(quick=args.quick))
        except (Exception, report.Aborted) as exc:
            failed = True
            if isinstance(exc, report.Aborted):
                print(f"{name} could not run: {exc}", file=sys.stderr)
            else:
                traceback.print_exc()
            output["benchmarks"][name] = {"error": repr(exc), "seconds": time.perf_counter() - clock}
            continue
        report.compare(measurements)
        seconds = time.perf_counter() - clock
        print(report.format_table(measurements))
        print(f"({seconds:.0f} s)\n", flush=True)
        output["benchmarks"][name] = {"seconds": seconds, "measurements": report.as_json(measurements)}
    output["seconds"] = (datetime.now(UTC) - started).total_seconds()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2) + "\n")
    print(f"results written to {args.output} (total {output['seconds']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
