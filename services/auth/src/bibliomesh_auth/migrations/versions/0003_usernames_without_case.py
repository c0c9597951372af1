"""usernames unique per institution whatever their case

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "uq_users_institution_username_folded"


def upgrade() -> None:
    clashes = op.get_bind().execute(sa.text(
        "SELECT institution, lower(username) FROM users GROUP BY institution, lower(username) "
        "HAVING COUNT(*) > 1")).all()
    if clashes:  # two people would sign in as one: an admin renames one of them first
        raise RuntimeError("accounts whose usernames differ only in case (institution/username): " +
                           ", ".join(f"{institution}/{name}" for institution, name in clashes))
    op.create_index(INDEX, "users", ["institution", sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="users")
