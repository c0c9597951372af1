"""refresh_tokens, authorization_codes: `auth_time`, when the person signed in (OpenID Connect Core §2, §12.2)

An ID token issued by a refresh, or for a code redeemed a while after the sign-in, carries the moment the person
signed in, not the moment it is issued. Refresh tokens that exist already get the time their family began: its
first token was issued at the sign-in (or at the redemption of its code, a minute at most later), and rotated
tokens are kept, so it is still there. Codes live a minute; those issued before this leave `auth_time` out.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True))
    family = sa.table("refresh_tokens", sa.column("family_id"), sa.column("issued_at")).alias("family")
    tokens = sa.table("refresh_tokens", sa.column("family_id"), sa.column("issued_at"), sa.column("auth_time"))
    began = sa.select(sa.func.min(family.c.issued_at)).where(family.c.family_id == tokens.c.family_id)
    op.execute(tokens.update().where(tokens.c.auth_time.is_(None)).values(auth_time=began.scalar_subquery()))


def downgrade() -> None:
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("auth_time")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("auth_time")
