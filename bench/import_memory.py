"""Memory during a large streaming import: the `import_memory` benchmark.

A MARC file of about 1 GB (50 MB with `--quick`) is written to a temporary directory by repeating the Library of
Congress records of `make testdata`, each copy with its 001 rewritten (`c1-<id>`, `c2-<id>`, ...) so that every
record is a distinct record of the institution (the copies share their identifiers, so from the second copy on
they join the first copy's clusters: the deduplication path runs too). The file is never held in memory.

Then a real catalogue (SQLite, embedded bus, relay and background loops running, as `make run` starts it) imports
it through `service_layer.imports.run_import`, the code behind `POST /catalog/imports`, while a thread samples the
resident memory of the process and of its parsing process (psutil if installed, else VmRSS from /proc) every 0.2 s
together with how many records the job row says were read.

  rss.after_5pct   RSS when 5% of the records were read: the baseline (caches and pools are warm by then)
  rss.peak         the largest sample during the import; ratio = peak / after_5pct (flat memory: about 1)
  rss.end          the last sample
  import.rate      records/s of the whole import, parse to commit
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from bench.marc_bytes import local_id_of, records_of, with_local_id
from bench.report import Measurement
from bibliomesh_catalog.adapters.import_repository import ImportRepository
from bibliomesh_catalog.bootstrap import create_app
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.service_layer.imports import Spooled, create_job, run_import
from bibliomesh_catalog.settings import CatalogSettings
from meshkit.security import SYSTEM_PRINCIPAL
from meshkit.testing import running
from tests.support import testdata

NAME = "import_memory"
DESCRIPTION = "resident memory during a streaming MARC import of about 1 GB (run_import, SQLite)"
FULL_BYTES = 1 << 30
QUICK_BYTES = 50 << 20
INSTITUTION = "BENCH-MEM"


def children_rss_bytes() -> int:
    """The resident set size of this process's children (the catalogue's parsing process)."""
    total = 0
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            with suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
    return total


def rss_bytes() -> int:
    """This process's resident set size."""
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("cannot read the resident set size")


def _loc_chunks() -> Iterator[bytes]:
    with testdata.loc_books().open("rb") as stream:
        yield from records_of(stream)


def write_marc_file(path: Path, target: int) -> tuple[int, str]:
    """Write about `target` bytes of distinct records to `path`; (records, sha256)."""
    digest = hashlib.sha256()
    written = records = 0
    with path.open("wb") as out:
        for copy in itertools.count():
            for chunk in _loc_chunks():
                if copy:
                    chunk = with_local_id(chunk, b"c%d-%s" % (copy, local_id_of(chunk).strip()))
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                records += 1
                if written >= target:
                    return records, digest.hexdigest()
    raise AssertionError("unreachable")


class Sampler:
    """RSS (the catalogue's process and its parsing process) and the import's progress (its job row's
    `records_read`, read from the SQLite file as another reader would) every `interval` seconds, in a thread."""

    def __init__(self, database: Path, job_id: str, interval: float = 0.2) -> None:
        self.database = database
        self.job_id = job_id
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (seconds, records read, rss bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = time.perf_counter()

    def read(self) -> int:
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)) as connection:
            row = connection.execute("SELECT records_read FROM imports WHERE id = ?", (self.job_id,)).fetchone()
        return int(row[0]) if row else 0

    def sample(self) -> None:
        self.samples.append((time.perf_counter() - self._started, self.read(), rss_bytes() + children_rss_bytes()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Sampler:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _curve(samples: list[tuple[float, int, int]], total: int) -> list[dict[str, Any]]:
    """RSS at every 5% of the records read."""
    points, mark = [], 0
    for seconds, parsed, rss in samples:
        while parsed >= total * mark / 20 and mark <= 20:
            points.append({"percent": mark * 5, "seconds": round(seconds, 1), "rss_mb": round(rss / 2**20, 1)})
            mark += 1
    return points


async def run(quick: bool) -> list[Measurement]:
    target = QUICK_BYTES if quick else FULL_BYTES
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.mrc"
        records, sha256 = write_marc_file(path, target)
        size = path.stat().st_size
        settings = CatalogSettings(data_dir=Path(folder) / "data", log_json=False, log_level="WARNING")
        app = create_app(settings, migrate=True)
        async with running(app):
            runtime = app.state.runtime
            job = await create_job(runtime, INSTITUTION, "application/marc", path.name, Spooled(path, sha256, size),
                                   SYSTEM_PRINCIPAL)
            before = rss_bytes()
            with Sampler(settings.sqlite_path(), job["id"]) as sampler:
                started = time.perf_counter()
                await run_import(runtime, job["id"], INSTITUTION, read_marc, path, SYSTEM_PRINCIPAL)
                seconds = time.perf_counter() - started
            async with runtime.unit_of_work() as uow:
                row = await ImportRepository(uow.session).get(job["id"])
        database_mb = sum(f.stat().st_size for f in (Path(folder) / "data").rglob("*") if f.is_file()) / 2**20
    assert row is not None and row["status"] == "succeeded", row
    samples = sampler.samples
    baseline = next((rss for _, parsed, rss in samples if parsed >= records * 0.05), samples[-1][2])
    peak = max(rss for _, _, rss in samples)
    detail = {"records": records, "file_mb": round(size / 2**20, 1), "seconds": round(seconds, 1),
              "created": row["created"], "rejected": row["rejected"], "rss_before_mb": round(before / 2**20, 1),
              "database_mb": round(database_mb, 1), "curve": _curve(samples, records)}
    mb = 2**20
    return [
        Measurement("import", "rate", records / seconds, "records/s", detail=detail),
        Measurement("rss", "after_5pct", baseline / mb, "MB"),
        Measurement("rss", "peak", peak / mb, "MB", baseline="after_5pct"),
        Measurement("rss", "end", samples[-1][2] / mb, "MB", baseline="after_5pct"),
    ]
