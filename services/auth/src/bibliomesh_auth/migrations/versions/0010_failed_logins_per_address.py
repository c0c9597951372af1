"""audit_events: an index on (ip, at), for counting the failed sign-ins of one address within a window

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_ip_at", "audit_events", ["ip", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_ip_at", table_name="audit_events")
