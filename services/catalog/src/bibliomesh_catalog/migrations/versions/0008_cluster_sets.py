"""OAI-PMH set membership of clusters, kept so that deleted clusters stay in the sets they were in

Revision ID: 0008
Revises: 0007

`cluster_sets` holds, per cluster, the institutions holding its items (its OAI-PMH sets) and when it left a set.
It starts from the holdings of the live clusters; clusters deleted before it existed no longer show which
institutions held them, so they stay without sets, as before.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_sets",
        sa.Column("cluster_id", sa.BigInteger(), nullable=False),
        sa.Column("set_spec", sa.String(length=64), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("cluster_id", "set_spec", name=op.f("pk_cluster_sets")),
    )
    op.create_index("ix_cluster_sets_set_spec_cluster_id", "cluster_sets", ["set_spec", "cluster_id"])
    op.execute(
        "INSERT INTO cluster_sets (cluster_id, set_spec) "
        "SELECT DISTINCT r.cluster_id, h.institution FROM holdings h "
        "JOIN records r ON r.id = h.record_id JOIN clusters c ON c.id = r.cluster_id "
        "WHERE r.deleted_at IS NULL AND c.deleted_at IS NULL")


def downgrade() -> None:
    op.drop_index("ix_cluster_sets_set_spec_cluster_id", table_name="cluster_sets")
    op.drop_table("cluster_sets")
