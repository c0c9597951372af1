"""search: the holdings of a suspended institution are not available

Revision ID: 0009
Revises: 0008

No schema change: the documents of the clusters held at institutions suspended now are rebuilt through the code
ingest uses, which no longer counts a suspended institution's copies as available. From here on a suspension or
reinstatement (a directory event) updates them.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from bibliomesh_catalog.adapters.search.rebuild import rebuild_clusters_sync

    bind = op.get_bind()
    held = bind.execute(sa.text(
        "SELECT DISTINCT r.cluster_id FROM holdings h JOIN records r ON r.id = h.record_id "
        "JOIN holders ho ON ho.code = h.institution "
        "WHERE ho.status = 'suspended' AND r.deleted_at IS NULL AND r.cluster_id IS NOT NULL")).scalars().all()
    rebuild_clusters_sync(bind, held)


def downgrade() -> None:
    """Nothing to undo: documents counting fewer copies as available are still valid documents."""
