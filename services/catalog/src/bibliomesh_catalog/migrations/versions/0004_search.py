"""search index: SQLite FTS5 or PostgreSQL full text, one document per cluster

Revision ID: 0004
Revises: 0002

The tables differ per engine (an FTS5 virtual table has no portable equivalent), so they are not part of the
service's SQLAlchemy metadata; the migrations contract test ignores tables named `search_fts*`. After creating
them, the documents of the clusters already stored are built (a no-op on a new database).
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, authors, subjects, publisher, notes, identifiers, facets, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TABLE search_fts_docs (cluster_id INTEGER PRIMARY KEY, format VARCHAR(16) NOT NULL, "
    "language VARCHAR(8), year INTEGER, available INTEGER NOT NULL, title_sort TEXT NOT NULL, "
    "institutions TEXT NOT NULL)",
    "CREATE INDEX ix_search_fts_docs_year ON search_fts_docs (year)",
    "CREATE INDEX ix_search_fts_docs_title_sort ON search_fts_docs (title_sort)",
]
_POSTGRES = [
    "CREATE TABLE search_fts_docs (cluster_id BIGINT PRIMARY KEY, tsv TSVECTOR NOT NULL, "
    "format VARCHAR(16) NOT NULL, language VARCHAR(8), year INTEGER, available BOOLEAN NOT NULL, "
    "title_sort TEXT COLLATE \"C\" NOT NULL, institutions TEXT[] NOT NULL, publisher_tokens TEXT NOT NULL)",
    "CREATE INDEX ix_search_fts_docs_tsv ON search_fts_docs USING gin (tsv)",
    "CREATE INDEX ix_search_fts_docs_institutions ON search_fts_docs USING gin (institutions)",
    "CREATE INDEX ix_search_fts_docs_year ON search_fts_docs (year)",
    "CREATE INDEX ix_search_fts_docs_title_sort ON search_fts_docs (title_sort)",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _POSTGRES:
        op.execute(statement)
    _index_existing_clusters()


def _index_existing_clusters() -> None:
    """Build documents for clusters stored before search existed, through the same code ingest uses."""
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM clusters WHERE deleted_at IS NULL LIMIT 1")).first():
        return
    from bibliomesh_catalog.adapters.search.rebuild import rebuild_sync

    rebuild_sync(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    op.execute("DROP TABLE search_fts_docs")
