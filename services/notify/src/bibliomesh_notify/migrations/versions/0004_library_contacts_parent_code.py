"""library contacts keep the university a branch library belongs to (`parent_code`), so a patron of one branch
is still told about a request of the university or of another of its branches

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows already copied stay null until the directory announces the institution again (a newer version).
    with op.batch_alter_table("library_contacts") as batch_op:
        batch_op.add_column(sa.Column("parent_code", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("library_contacts") as batch_op:
        batch_op.drop_column("parent_code")
