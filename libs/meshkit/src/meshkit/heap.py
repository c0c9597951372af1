"""Keeping the cyclic garbage collector cheap in a long-running service.

A started service holds a large, permanent heap (modules, classes, SQLAlchemy and pydantic schemas: about 160,000
objects for the catalogue). Bulk work such as an import keeps thousands of young objects alive across collections,
which makes CPython run full collections often, and each one walked that whole permanent heap again: a quarter
of an import's time went there. `settle_heap` moves what is alive after startup into the permanent generation
(`gc.freeze`), once per process, so full collections only walk what was created since.

It also collects the young generation after 10,000 new container objects instead of CPython's 700. A request
creates a few hundred (dictionaries, lists, coroutines, futures), nearly all freed by reference counting as soon
as it ends; at 700, the collector ran every few requests only to find them alive, and the older generations
followed: a tenth of the gateway's time under load (bench/README.md). Cyclic garbage still goes, later: at most
some 10,000 objects wait for it.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 10_000
_settled = False


def settle_heap() -> None:
    """Collect once, freeze everything alive now and raise the young generation's threshold (a no-op after the
    first call in a process)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
