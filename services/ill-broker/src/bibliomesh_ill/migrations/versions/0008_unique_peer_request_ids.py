"""unique peer request ids

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 06:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Retries that raced before this index may have made two requests for one peer request: say which, rather
    # than fail on the index with a bare IntegrityError. Which one to keep is for staff to decide.
    duplicates = op.get_bind().execute(sa.text(
        "SELECT borrower, peer_request_id FROM requests WHERE peer_request_id IS NOT NULL "
        "GROUP BY borrower, peer_request_id HAVING COUNT(*) > 1")).all()
    if duplicates:
        raise RuntimeError("requests made twice for one peer request (borrower/peer_request_id): "
                           f"{', '.join(f'{b}/{p}' for b, p in duplicates)}; cancel or remove the extra ones first")
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_borrower_peer_request_id', ['borrower', 'peer_request_id'], unique=True,
                              sqlite_where=sa.text('peer_request_id IS NOT NULL'),
                              postgresql_where=sa.text('peer_request_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_borrower_peer_request_id')
