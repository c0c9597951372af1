"""harvest runs, and leases on harvest sources and import jobs

Revision ID: 0005
Revises: 0004

A lease (owner + expiry, renewed as a heartbeat) lets several catalogue replicas share background jobs: a source
is harvested by one replica at a time, and an import is failed only once its heartbeat stopped.
`harvest_sources.metadata_prefix` becomes optional (null: the best format the source offers).
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _lease_columns() -> list[sa.Column[object]]:
    return [sa.Column("lease_owner", sa.String(length=100), nullable=True),
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)]


def upgrade() -> None:
    op.create_table(
        "harvest_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("institution", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metadata_prefix", sa.String(length=40), nullable=True),
        sa.Column("harvested_from", sa.String(length=40), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=300), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_runs")),
    )
    with op.batch_alter_table("harvest_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_harvest_runs_institution"), ["institution"], unique=False)
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.alter_column("metadata_prefix", existing_type=sa.String(length=40), nullable=True)
        batch_op.add_column(sa.Column("updated_by", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        for column in _lease_columns():
            batch_op.add_column(column)
    with op.batch_alter_table("imports", schema=None) as batch_op:
        for column in _lease_columns():
            batch_op.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
    op.execute("UPDATE harvest_sources SET metadata_prefix = 'marc21' WHERE metadata_prefix IS NULL")
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("updated_by")
        batch_op.alter_column("metadata_prefix", existing_type=sa.String(length=40), nullable=False)
    with op.batch_alter_table("harvest_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_runs_institution"))
    op.drop_table("harvest_runs")
