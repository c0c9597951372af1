"""What a benchmark returns, and how the runner prints and stores it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest

# The shared infra helpers (tests/support/infra.py) stop with pytest.fail when a server cannot be reached.
Aborted = pytest.fail.Exception

@dataclass
class Measurement:
    """One number, with the baseline from the same run that it is compared to (`ratio` = value / baseline)."""

    group: str
    name: str
    value: float
    unit: str
    baseline: str | None = None
    ratio: float | None = None
    samples: list[float] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.group}.{self.name}"


def compare(measurements: Sequence[Measurement]) -> None:
    """Fill in each ratio from the measurement its `baseline` names (`group.name`, or `name` in the same group)."""
    by_key = {m.key: m for m in measurements}
    for m in measurements:
        if m.baseline is None:
            continue
        reference = by_key.get(m.baseline) or by_key.get(f"{m.group}.{m.baseline}")
        if reference is not None and reference.value:
            m.ratio = m.value / reference.value
            m.baseline = reference.key


def median_of(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], pct: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.3f}x"


def format_table(measurements: Sequence[Measurement]) -> str:
    header = ("group", "measurement", "value", "unit", "ratio", "vs baseline", "runs")
    rows = [header]
    for m in measurements:
        spread = ""
        if len(m.samples) > 1 and m.unit.endswith("/s"):
            spread = f"{len(m.samples)} ({_number(min(m.samples))}-{_number(max(m.samples))})"
        rows.append((m.group, m.name, _number(m.value), m.unit,
                     _ratio(m.ratio), m.baseline or "", spread))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {2, 4}
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.rjust(width) if i in right else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def as_json(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    return [asdict(m) for m in measurements]
