"""live streams of every replica, for the cap on a person's streams

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_streams",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.Column("seen_at", WHEN, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_live_streams_subject", "live_streams", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_live_streams_subject", table_name="live_streams")
    op.drop_table("live_streams")
