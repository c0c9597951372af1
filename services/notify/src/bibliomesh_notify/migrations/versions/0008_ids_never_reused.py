"""ids a client sees (webhooks, deliveries, notifications) are never handed out again on SQLite (AUTOINCREMENT),
and deliveries left behind by deleted webhooks are removed

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("webhooks", "deliveries", "notifications")

# A webhook delivery belongs to its webhook and to that webhook's institution. Without AUTOINCREMENT SQLite gave a
# deleted webhook's id to the next webhook, of whichever institution, which then listed and was sent the deleted
# one's deliveries; and deleting a webhook left its deliveries behind. Those go: nobody may see or send them.
_STRAY_DELIVERIES = """
DELETE FROM deliveries WHERE channel = 'webhook' AND NOT EXISTS (
    SELECT 1 FROM webhooks WHERE webhooks.id = deliveries.webhook_id
    AND webhooks.institution = deliveries.institution {same_webhook})
"""
# On SQLite a delivery older than its webhook was queued for an earlier webhook that had the same id.
_SQLITE_SAME_WEBHOOK = "AND deliveries.created_at >= webhooks.created_at"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:  # sequences never hand an id out twice
        op.execute(_STRAY_DELIVERIES.format(same_webhook=""))
        return
    # Ids of webhooks deleted before now were handed out too (the highest may be gone): never again either.
    handed_out = {table: op.get_bind().scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}"))
                  for table in TABLES}
    handed_out["webhooks"] = max(handed_out["webhooks"], op.get_bind().scalar(sa.text(
        "SELECT coalesce(max(webhook_id), 0) FROM deliveries")))
    op.execute(_STRAY_DELIVERIES.format(same_webhook=_SQLITE_SAME_WEBHOOK))
    for table in TABLES:
        # Rebuilt (copied into a new table, rows and indexes kept): SQLite cannot add AUTOINCREMENT in place.
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
        # The copy set the table's counter to its highest id; an empty table has no counter row yet.
        op.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :table").bindparams(table=table))
        op.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)")
                   .bindparams(table=table, seq=handed_out[table]))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in reversed(TABLES):
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
