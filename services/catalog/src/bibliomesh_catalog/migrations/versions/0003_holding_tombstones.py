"""holding tombstones: the last version of items that went away

Revision ID: 0003
Revises: 0002

"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holding_tombstones",
        sa.Column("institution", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("institution", "item_id", name=op.f("pk_holding_tombstones")),
    )


def downgrade() -> None:
    op.drop_table("holding_tombstones")
