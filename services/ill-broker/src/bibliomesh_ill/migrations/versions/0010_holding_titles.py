"""holding titles

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00.000000

`catalog.holdings.changed` now carries the record's title (and its title in another script), so a request is
named by the book's title rather than its match key. Items copied before stay without one (null) until the
catalogue announces them again (any change to the item or its record); meanwhile a request falls back to the
title its citation gives.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('holdings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('alt_title', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('holdings', schema=None) as batch_op:
        batch_op.drop_column('alt_title')
        batch_op.drop_column('title')
