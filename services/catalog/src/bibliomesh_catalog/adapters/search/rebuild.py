"""Build every live cluster's search document from scratch (the migration that adds search, and repairs)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bibliomesh_catalog.adapters.search import postgres_fts, sqlite_fts
from bibliomesh_catalog.adapters.search.documents import assemble, select_clusters, select_holdings
from bibliomesh_catalog.adapters.tables import clusters

BATCH = 500


def rebuild_sync(connection: Connection) -> int:
    """Replace the whole index on a synchronous connection (inside a migration); returns the documents written."""
    sqlite = connection.dialect.name == "sqlite"
    connection.execute(sa.text("DELETE FROM search_fts_docs"))
    if sqlite:
        connection.execute(sa.text("DELETE FROM search_fts"))
    written, after = 0, 0
    while True:
        ids = list(connection.execute(
            sa.select(clusters.c.id).where(clusters.c.id > after, clusters.c.deleted_at.is_(None))
            .order_by(clusters.c.id).limit(BATCH)).scalars())
        if not ids:
            return written
        documents = assemble(connection.execute(select_clusters(ids)).all(),
                             connection.execute(select_holdings(ids)).all())
        if documents and sqlite:
            connection.execute(sqlite_fts.INSERT_FTS, [sqlite_fts.fts_row(d) for d in documents])
            connection.execute(sqlite_fts.INSERT_DOCS, [sqlite_fts.docs_row(d) for d in documents])
        elif documents:
            rows: list[dict[str, Any]] = [dict(zip(postgres_fts.COLUMNS, postgres_fts.copy_row(d), strict=True))
                                          for d in documents]
            connection.execute(postgres_fts.INSERT, rows)
        written += len(documents)
        after = ids[-1]
