"""Deduplication quality on the labeled set in `bench/dedup/labeled.json` (built by `bench/dedup/build_labeled.py`),
and the catalogue's ingest rate (`bench/ingest_rate.py`): the `catalog` benchmark.

Every labeled record goes through the real path: MARC-in-JSON -> MARC21 bytes -> `read_marc` -> `ingest_records`,
one batch per contributing institution, into a fresh SQLite catalogue. Then:
  precision   merged pairs that are the same edition / all merged pairs (any two records sharing a cluster
              while labeled as different editions count as false merges, labeled pair or not)
  recall      must-merge pairs that ended in one cluster / all must-merge pairs
per category as well, with the failing pairs in the JSON detail; and the same scores for Reservoir-like and
RecordManager-like matching (bench/dedup/baselines.py) over the same parsed records, for comparison.
"""

from __future__ import annotations

import io
import itertools
import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pymarc import JSONReader

from bench import ingest_rate
from bench.dedup.baselines import baselines
from bench.report import Measurement
from bibliomesh_catalog.adapters.tables import messaging, records
from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.service_layer.ingest import ingest_records
from meshkit.db import create_engine, session_factory
from meshkit.migrations import upgrade_in_thread
from meshkit.security import SYSTEM_PRINCIPAL
from meshkit.unit_of_work import UnitOfWork

NAME = "catalog"
DESCRIPTION = "deduplication precision/recall on the labeled LoC set, and ingest rate vs pymarc"
LABELED = Path(__file__).parent / "dedup" / "labeled.json"


def load_labeled(path: Path = LABELED) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


async def cluster_assignments(labeled: dict[str, Any], url: str) -> dict[str, int | None]:
    """Ingest the labeled records into the catalogue at `url`; record id (`INST/local`) -> cluster id."""
    by_institution: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in labeled["records"]:
        by_institution[item["institution"]].append(item)
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        for institution, items in sorted(by_institution.items()):
            marc = b"".join(r.as_marc21() for r in JSONReader(json.dumps([i["marc"] for i in items])))
            async with UnitOfWork(sessions, messaging.outbox, "catalog") as uow:
                results = await ingest_records(uow, institution, read_marc(io.BytesIO(marc)), SYSTEM_PRINCIPAL)
                await uow.commit()
            rejected = [r for r in results if r.status == "rejected"]
            if rejected:
                raise AssertionError(f"labeled records rejected: {rejected[:3]}")
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(records.c.institution, records.c.local_id, records.c.cluster_id))
            return {f"{r.institution}/{r.local_id}": r.cluster_id for r in rows}
    finally:
        await engine.dispose()


def score(labeled: dict[str, Any], clusters: dict[str, int | None] | dict[str, int]) -> dict[str, Any]:
    """Precision, recall, per-category results and the failing pairs."""
    group_of = {r["id"]: r["group"] for r in labeled["records"]}
    category_of = {r["id"]: r["category"] for r in labeled["records"]}
    groups: dict[str, list[str]] = defaultdict(list)
    for item in labeled["records"]:
        groups[item["group"]].append(item["id"])
    must_merge = [(a, b) for ids in groups.values() for a, b in itertools.combinations(sorted(ids), 2)]
    missed = [(a, b) for a, b in must_merge if clusters.get(a) is None or clusters.get(a) != clusters.get(b)]
    members: dict[int, list[str]] = defaultdict(list)
    for record_id, cluster_id in clusters.items():
        if cluster_id is not None and record_id in group_of:
            members[cluster_id].append(record_id)
    merged = [(a, b) for ids in members.values() for a, b in itertools.combinations(sorted(ids), 2)]
    false = [(a, b) for a, b in merged if group_of[a] != group_of[b]]
    true_positives = len(merged) - len(false)
    categories: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a, _ in must_merge:
        categories[category_of[a]]["must_merge"] += 1
    for a, _ in missed:
        categories[category_of[a]]["missed"] += 1
    for pair in labeled["must_not_merge"]:
        categories[pair["category"]]["must_not_merge"] += 1
        if clusters.get(pair["a"]) is not None and clusters.get(pair["a"]) == clusters.get(pair["b"]):
            categories[pair["category"]]["wrongly_merged"] += 1
    return {
        "precision": true_positives / len(merged) if merged else 1.0,
        "recall": true_positives / len(must_merge) if must_merge else 1.0,
        "must_merge_pairs": len(must_merge), "must_not_merge_pairs": len(labeled["must_not_merge"]),
        "merged_pairs": len(merged), "false_merges": false, "missed_merges": missed,
        "categories": {name: dict(counts) for name, counts in sorted(categories.items())},
    }


async def evaluate(path: Path = LABELED) -> dict[str, Any]:
    """Score the labeled set in a fresh SQLite catalogue."""
    labeled = load_labeled(path)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'dedup.sqlite'}"
        await upgrade_in_thread(MIGRATIONS, url)
        return score(labeled, await cluster_assignments(labeled, url))


def compared() -> dict[str, dict[str, Any]]:
    """Precision and recall of the Reservoir-like and RecordManager-like baselines on the same set."""
    labeled = load_labeled()
    return {name: score(labeled, dict(assignment)) for name, assignment in baselines(labeled).items()}


async def run(quick: bool) -> list[Measurement]:
    result = await evaluate()
    detail = {k: v for k, v in result.items() if k not in ("precision", "recall")}
    measurements = [
        Measurement("dedup", "precision", result["precision"], "ratio", detail=detail),
        Measurement("dedup", "recall", result["recall"], "ratio",
                    detail={"must_merge_pairs": result["must_merge_pairs"]}),
        Measurement("dedup", "false_merges", len(result["false_merges"]), "pairs"),
        Measurement("dedup", "missed_merges", len(result["missed_merges"]), "pairs"),
    ]
    for name, other in compared().items():
        measurements += [
            Measurement(name, "precision", other["precision"], "ratio", detail={"categories": other["categories"]}),
            Measurement(name, "recall", other["recall"], "ratio"),
        ]
    return measurements + await ingest_rate.run(quick)
