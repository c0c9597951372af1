"""Keeping the cyclic garbage collector's full collections cheap in a long-running service.

A started service holds a large, permanent heap (modules, classes, SQLAlchemy and pydantic schemas: about 160,000
objects for the catalogue). Bulk work such as an import keeps thousands of young objects alive across collections,
which makes CPython run full collections often, and each one walked that whole permanent heap again: a quarter
of an import's time went there. `settle_heap` moves what is alive after startup into the permanent generation
(`gc.freeze`), once per process, so full collections only walk what was created since.
"""

from __future__ import annotations

import gc

_settled = False


def settle_heap() -> None:
    """Collect once, then freeze everything alive now (a no-op after the first call in a process)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
