"""webhook ids (and the deliveries' references to them) widened to 64 bits, the range the API accepts for ids

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
    # SQLite's INTEGER already holds 64 bits, and the id must stay INTEGER to remain the autoincrementing rowid.
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("webhooks", "id", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)
    op.execute("ALTER SEQUENCE webhooks_id_seq AS bigint")  # a serial's sequence keeps its own type otherwise
    op.alter_column("deliveries", "webhook_id", type_=sa.BigInteger(), existing_type=sa.Integer(),
                    existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("deliveries", "webhook_id", type_=sa.Integer(), existing_type=sa.BigInteger(),
                    existing_nullable=True)
    op.execute("ALTER SEQUENCE webhooks_id_seq AS integer")
    op.alter_column("webhooks", "id", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
