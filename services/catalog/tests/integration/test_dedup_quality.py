"""The labeled deduplication set (bench/dedup) keeps its precision and recall."""

from __future__ import annotations

from bench.dedup_quality import evaluate


async def test_the_labeled_set_is_deduplicated_with_high_precision_and_recall() -> None:
    result = await evaluate()
    assert result["false_merges"] == []
    assert result["precision"] == 1.0
    assert result["recall"] >= 0.95, result["missed_merges"]
    missed = {name: counts.get("missed", 0) for name, counts in result["categories"].items()}
    assert {name for name, count in missed.items() if count} <= {"typo"}  # typos without identifiers only
    wrongly = {name: counts.get("wrongly_merged", 0) for name, counts in result["categories"].items()}
    assert not any(wrongly.values())
