"""Parsing a spooled import in a process of its own, one batch ahead of the caller that stores them.

Parsing is pure Python: run in a thread of the service, it holds the interpreter lock the API's event loop needs,
and it cannot overlap the storing of the previous batch. Here one worker process per service (started on first
use, `spawn`, shared by concurrent imports) opens the file by its path and hands back pickled batches; while the
service stores batch N, the worker parses batch N+1 on the other core. Readers are keyed per import, so one
worker serves several imports; an import that ends early (failed, cancelled) closes its reader there too.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import pickle
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from pathlib import Path
from typing import Any, BinaryIO

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing import Parser
from meshkit.heap import settle_heap

Batch = list[ParsedRecord | RejectedRecord]
Finish = Callable[[Batch], list[Any]]

# In the worker process: the open file and the parser's iterator of each import it serves.
_READERS: dict[str, tuple[BinaryIO, Iterator[ParsedRecord | RejectedRecord]]] = {}


def _next_batch(key: str, path: str, parser: Parser, size: int, finish: Finish | None) -> tuple[bytes, int]:
    """(Worker side.) The next `size` records of the import `key`, passed through `finish` and pickled, and the
    bytes read so far; an empty batch at the end, which also closes the file."""
    # Once, when the modules that parse and finish are imported (unpickling this call's arguments did it): the
    # worker's batches keep thousands of young objects alive, which otherwise makes every full collection walk
    # all of those modules again (as in the service, meshkit.heap).
    settle_heap()
    if key not in _READERS:
        opened: BinaryIO = Path(path).open("rb")  # noqa: SIM115 - kept open across calls, closed by _close
        _READERS[key] = (opened, parser(opened))
    stream, records = _READERS[key]
    batch: Batch = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            break
    position = stream.tell()
    if not batch:
        _close(key)
    return pickle.dumps(finish(batch) if finish is not None and batch else batch, pickle.HIGHEST_PROTOCOL), position


def _unpickle(data: bytes) -> list[Any]:
    """A batch from the worker. The cyclic collector is paused meanwhile: a batch is tens of thousands of new
    containers, all alive, and at every threshold the collector would walk them only to find them so (this
    halves the cost of loading a batch)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        batch: list[Any] = pickle.loads(data)  # noqa: S301 - our own worker's output
    finally:
        if was_enabled:
            gc.enable()
    return batch


def _close(key: str) -> None:
    """(Worker side.) Forget the import `key`, closing its file."""
    reader = _READERS.pop(key, None)
    if reader is not None:
        reader[0].close()


class ParsingWorkerDied(RuntimeError):
    """The parsing process stopped in the middle of an import (killed, or out of memory)."""


class ParsingWorker:
    """The service's parsing process, started when first needed and stopped with the service."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the service has threads (database drivers, the event loop's executor) that a
            # forked child would inherit in whatever state they were.
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def start(self) -> None:
        """Start the process now and wait until it answers (otherwise the first import starts it)."""
        await asyncio.wrap_future(self._executor().submit(_close, ""))

    async def batches(self, parser: Parser, path: Path, size: int,
                      finish: Finish | None = None) -> AsyncGenerator[tuple[list[Any], int], None]:
        """The batches of the file at `path` with the bytes read after each, parsed one batch ahead and passed
        through `finish` in the worker (the caller's own work on a batch that needs no database). `parser` and
        `finish` go to the worker by reference: module-level functions, such as those of `PARSERS`. Use it
        under `contextlib.aclosing`, so that leaving early closes the worker's reader at once."""
        key = uuid.uuid4().hex
        pool = self._executor()
        ahead: Future[tuple[bytes, int]] | None = None
        try:
            ahead = pool.submit(_next_batch, key, str(path), parser, size, finish)
            while True:
                data, position = await asyncio.wrap_future(ahead)
                batch = _unpickle(data)
                if not batch:
                    ahead = None
                    return
                ahead = pool.submit(_next_batch, key, str(path), parser, size, finish)
                yield batch, position
        except BrokenProcessPool as exc:
            self._forget(pool)  # a broken pool cannot be used again; the next import starts a fresh one
            raise ParsingWorkerDied("the catalogue's parsing process stopped (killed, or out of memory); "
                                    "import the file again") from exc
        finally:
            if ahead is not None:
                with suppress(RuntimeError):  # the pool is shut down or broken: its process took the reader along
                    pool.submit(_close, key)

    def pids(self) -> list[int]:
        """The process ids of the running parsing process (none before the first import)."""
        return list(self._pool._processes) if self._pool is not None and self._pool._processes else []

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
