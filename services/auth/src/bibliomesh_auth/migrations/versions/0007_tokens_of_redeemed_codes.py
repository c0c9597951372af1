"""authorization_codes: what a code was redeemed for, so that a replay of the code revokes it (OAuth 2.1 §4.1.3)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("family_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("access_token_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("access_token_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("access_token_expires_at")
        batch.drop_column("access_token_id")
        batch.drop_column("family_id")
