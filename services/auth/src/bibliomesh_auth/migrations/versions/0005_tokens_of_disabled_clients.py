"""clients: tokens issued before a client was disabled stay refused once it is enabled again (tokens_not_before)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("tokens_not_before", sa.DateTime(timezone=True), nullable=True))
    # A client disabled now refuses what it was issued before, also once it is enabled again.
    op.execute("UPDATE clients SET tokens_not_before = disabled_at WHERE disabled_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("tokens_not_before")
