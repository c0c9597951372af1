"""peer message fingerprints

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00.000000

The fingerprints of the messages peers sent, by which their resends are known, were kept only in the request's
audit trail (`peer_message_received` steps) and every message read the whole of it to look for its own; and two
copies arriving at once could both look before either was kept. They now have a table of their own, unique per
request and key, filled here from the trail so that messages received before the upgrade are still known when
resent. A message kept twice by that race is kept once. The keys are made by the code that looks them up
(`message_keys`), so the two cannot disagree.
"""
from collections.abc import Iterator
from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bibliomesh_ill.service_layer.peers.fingerprints import message_keys


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BATCH = 1000
# Frozen copies of the columns used, so later changes to the tables do not change what this migration did.
_steps = sa.table(
    'request_steps', sa.column('id', sa.Integer), sa.column('request_id', sa.String), sa.column('step', sa.String),
    sa.column('details', sa.JSON), sa.column('occurred_at', sa.DateTime(timezone=True)))
_fingerprints = sa.table(
    'peer_message_fingerprints', sa.column('request_id', sa.String), sa.column('by_timestamp', sa.String),
    sa.column('by_sequence', sa.String), sa.column('received_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.create_table(
        'peer_message_fingerprints',
        sa.Column('request_id', sa.String(length=40), nullable=False),
        sa.Column('by_timestamp', sa.String(length=64), nullable=False),
        sa.Column('by_sequence', sa.String(length=64), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('request_id', 'by_timestamp', name=op.f('pk_peer_message_fingerprints')),
    )
    op.create_index('ix_peer_message_fingerprints_by_sequence', 'peer_message_fingerprints',
                    ['request_id', 'by_sequence'], unique=True, sqlite_where=sa.text('by_sequence IS NOT NULL'),
                    postgresql_where=sa.text('by_sequence IS NOT NULL'))
    bind = op.get_bind()
    insert = pg_insert if bind.dialect.name == 'postgresql' else sqlite_insert
    for batch in _kept_in_trail(bind):
        bind.execute(insert(_fingerprints).on_conflict_do_nothing(), batch)


def downgrade() -> None:
    op.drop_index('ix_peer_message_fingerprints_by_sequence', table_name='peer_message_fingerprints')
    op.drop_table('peer_message_fingerprints')


def _kept_in_trail(bind: sa.Connection) -> Iterator[list[dict[str, Any]]]:
    last = 0
    while True:
        rows = bind.execute(sa.select(_steps.c.id, _steps.c.request_id, _steps.c.details, _steps.c.occurred_at)
                            .where(_steps.c.step == 'peer_message_received', _steps.c.id > last)
                            .order_by(_steps.c.id).limit(_BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        batch = []
        for row in rows:
            by_timestamp, by_sequence = message_keys(row.details or {})
            batch.append({'request_id': row.request_id, 'by_timestamp': by_timestamp, 'by_sequence': by_sequence,
                          'received_at': row.occurred_at})
        yield batch
