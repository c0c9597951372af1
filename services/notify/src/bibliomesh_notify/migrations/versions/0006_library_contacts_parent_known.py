"""library contacts say whether their `parent_code` is known: rows copied before 0004 have it null until the
directory announces the institution again, which must not read as "not a branch"

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
    # A null parent_code stored from 0004 on is as announced, but nothing tells it from an older one: those rows
    # wait for their next announcement too (known too late, never too early). A parent_code set was announced.
    with op.batch_alter_table("library_contacts") as batch_op:
        batch_op.add_column(sa.Column("parent_known", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE library_contacts SET parent_known = :known WHERE parent_code IS NOT NULL")
               .bindparams(known=True))


def downgrade() -> None:
    with op.batch_alter_table("library_contacts") as batch_op:
        batch_op.drop_column("parent_known")
