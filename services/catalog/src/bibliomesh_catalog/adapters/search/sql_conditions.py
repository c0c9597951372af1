"""Turning a query tree into a SQL condition with bound parameters; each engine says only how text is matched."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search.query import (
    And,
    AndNot,
    ClusterIds,
    EngineResult,
    FacetCounts,
    Node,
    Or,
    SearchRequest,
    YearRange,
)


class SqlConditions(ABC):
    """Collects SQL conditions and their bound parameters. Subclasses answer `text_condition` for their engine."""

    TRUE = "1 = 1"

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    @abstractmethod
    def text_condition(self, node: Node) -> str | None:
        """The engine's condition for a text node, or None if `node` is not one it matches as text."""

    def condition(self, node: Node) -> str:
        text = self.text_condition(node)
        if text is not None:
            return text
        if isinstance(node, ClusterIds):
            return f"d.cluster_id IN ({', '.join(str(int(i)) for i in node.ids) or 'NULL'})"
        if isinstance(node, YearRange):
            parts = [f"d.year >= {self.bind(node.low)}"] if node.low is not None else []
            parts += [f"d.year <= {self.bind(node.high)}"] if node.high is not None else []
            return " AND ".join(parts) or self.TRUE
        if isinstance(node, And):
            return " AND ".join(f"({self.condition(c)})" for c in node.children)
        if isinstance(node, Or):
            return " OR ".join(f"({self.condition(c)})" for c in node.children)
        if isinstance(node, AndNot):
            return f"({self.condition(node.include)}) AND NOT ({self.condition(node.exclude)})"
        raise TypeError(f"unknown node {node!r}")


FacetQuery = Callable[[AsyncSession, str, dict[str, Any]], Awaitable[FacetCounts]]


async def run_page(session: AsyncSession, request: SearchRequest, *, base: str, rank: str, order: str,
                   params: dict[str, Any], facets: FacetQuery) -> EngineResult:
    """One page of cluster ids for `SELECT ... {base}`, with the total (from the facet counts when asked for)."""
    page = await session.execute(sa.text(
        f"SELECT d.cluster_id, {rank} AS rank {base} ORDER BY {order} "
        f"LIMIT {int(request.limit)} OFFSET {int(request.offset)}"), params)
    ids = [int(row[0]) for row in page]
    if not request.facets:
        total = int((await session.execute(sa.text(f"SELECT count(*) {base}"), params)).scalar_one())
        return EngineResult(total=total, cluster_ids=ids)
    counts = await facets(session, base, params)
    return EngineResult(total=sum(counts.format.values()), cluster_ids=ids, facets=counts)
