"""search: titles in other scripts (alt_titles, from 880 fields) are indexed as titles

Revision ID: 0006
Revises: 0005

No schema change: the documents of the clusters whose union record carries titles in another script (the Chinese
title of a record catalogued in pinyin) are rebuilt through the same code ingest uses, so those titles become
searchable in clusters stored before. Clusters without such titles keep their documents.
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from bibliomesh_catalog.adapters.search.rebuild import rebuild_sync

    rebuild_sync(op.get_bind(), only=lambda display: bool(display.get("alt_titles")))


def downgrade() -> None:
    """Nothing to undo: documents with the extra title tokens are still valid documents."""
