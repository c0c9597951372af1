"""in-app notifications for a patron notify did not know yet name the borrowing library
(`unconfirmed_patron_of`) and stay hidden until the person is announced as of its university

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
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("unconfirmed_patron_of", sa.String(64), nullable=True))
    # Only a patron not yet announced gets in-app messages without a row in `people`, and theirs carry the
    # borrowing library as `institution`: hold them until the person is announced.
    op.execute("UPDATE notifications SET unconfirmed_patron_of = institution "
               "WHERE recipient NOT IN (SELECT subject FROM people)")


def downgrade() -> None:
    # Held notifications would be shown to whoever signs in with their subject: they go.
    op.execute("DELETE FROM notifications WHERE unconfirmed_patron_of IS NOT NULL")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_column("unconfirmed_patron_of")
