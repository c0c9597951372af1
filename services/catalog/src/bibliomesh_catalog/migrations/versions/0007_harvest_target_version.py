"""harvest sources: a version of what is harvested

Revision ID: 0007
Revises: 0006

`harvest_sources.target_version` goes up whenever the base URL, set or format changes, so a harvest that began
before the change can tell, in the UPDATE that writes its cursor, that the cursor no longer belongs to the source.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_version", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.drop_column("target_version")
