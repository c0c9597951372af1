"""users: tokens issued before a person was disabled stay refused once they are enabled again (tokens_not_before)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("tokens_not_before", sa.DateTime(timezone=True), nullable=True))
    # A person disabled now refuses what they were issued before, also once they are enabled again.
    op.execute("UPDATE users SET tokens_not_before = updated_at WHERE status = 'disabled'")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tokens_not_before")
