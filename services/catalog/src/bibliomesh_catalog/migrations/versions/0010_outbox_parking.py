"""outbox: events the relay gave up on are parked (parked_at) instead of blocking every event behind them; when
an event that failed on its own is tried next (next_attempt_at) is kept in its row, for every replica's relay

Revision ID: 0010
Revises: 0009
"""
from alembic import op

from meshkit.messaging_tables import add_outbox_parking, remove_outbox_parking

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_parking(op)


def downgrade() -> None:
    remove_outbox_parking(op)
