"""holders (the catalogue's copy of the directory), outbox and inbox

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from meshkit.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "holders",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("parent_code", sa.String(64), nullable=True),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("holders")
    drop_messaging_tables(op)
