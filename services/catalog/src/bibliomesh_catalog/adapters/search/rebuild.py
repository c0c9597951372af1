"""Build live clusters' search documents from scratch (the migrations that add or change search, and repairs)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bibliomesh_catalog.adapters.search import postgres_fts, sqlite_fts
from bibliomesh_catalog.adapters.search.documents import assemble, select_clusters, select_holdings
from bibliomesh_catalog.adapters.tables import clusters

BATCH = 500


def rebuild_sync(connection: Connection, only: Callable[[Mapping[str, Any]], bool] | None = None) -> int:
    """Replace the whole index on a synchronous connection (inside a migration), or with `only` the documents of
    the clusters whose union record (`display`) it accepts; returns the documents written."""
    sqlite = connection.dialect.name == "sqlite"
    if only is None:
        connection.execute(sa.text("DELETE FROM search_fts_docs"))
        if sqlite:
            connection.execute(sa.text("DELETE FROM search_fts"))
    written, after = 0, 0
    while True:
        rows = connection.execute(
            sa.select(clusters.c.id, clusters.c.display).where(clusters.c.id > after, clusters.c.deleted_at.is_(None))
            .order_by(clusters.c.id).limit(BATCH)).all()
        if not rows:
            return written
        after = rows[-1].id
        ids = [row.id for row in rows if only is None or only(row.display or {})]
        if ids:
            written += _write(connection, ids, replace=only is not None)


def rebuild_clusters_sync(connection: Connection, cluster_ids: Collection[int]) -> int:
    """Replace the documents of these clusters on a synchronous connection (inside a migration); returns the
    documents written (deleted clusters drop out)."""
    ordered = sorted(set(cluster_ids))
    return sum(_write(connection, ordered[start:start + BATCH], replace=True)
               for start in range(0, len(ordered), BATCH))


def _write(connection: Connection, ids: list[int], *, replace: bool) -> int:
    sqlite = connection.dialect.name == "sqlite"
    if replace:
        listed = ", ".join(str(int(i)) for i in ids)
        connection.execute(sa.text(f"DELETE FROM search_fts_docs WHERE cluster_id IN ({listed})"))  # noqa: S608
        if sqlite:
            connection.execute(sa.text(f"DELETE FROM search_fts WHERE rowid IN ({listed})"))  # noqa: S608
    documents = assemble(connection.execute(select_clusters(ids)).all(),
                         connection.execute(select_holdings(ids)).all())
    if documents and sqlite:
        connection.exec_driver_sql(sqlite_fts.INSERT_FTS, [sqlite_fts.fts_row(d) for d in documents])
        connection.exec_driver_sql(sqlite_fts.INSERT_DOCS, [sqlite_fts.docs_row(d) for d in documents])
    elif documents:
        connection.exec_driver_sql(postgres_fts.INSERT, postgres_fts.insert_parameters(documents))
    return len(documents)
