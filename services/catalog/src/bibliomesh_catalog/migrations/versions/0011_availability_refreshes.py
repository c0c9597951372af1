"""availability_refreshes: a suspension or reinstatement is carried into the search documents in batches

Revision ID: 0011
Revises: 0010

Until now the directory consumer recomputed the availability of every cluster an institution holds in its own
transaction, holding the catalogue's write lock throughout. It now only records the request here; a background
worker recomputes in batches of clusters, one short transaction each, and keeps where it got to.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "availability_refreshes",
        sa.Column("institution", sa.String(length=64), nullable=False),
        sa.Column("after_cluster_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("institution", name=op.f("pk_availability_refreshes")),
    )


def downgrade() -> None:
    op.drop_table("availability_refreshes")
