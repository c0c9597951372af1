"""The outbox and inbox tables, added to each service's own metadata and created by its own migrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

# The relay reads this index; parked events (set aside after failing on their own) are not in it.
UNPUBLISHED = "published_at IS NULL AND parked_at IS NULL"
PARKED = "parked_at IS NOT NULL"


@dataclass(frozen=True)
class MessagingTables:
    outbox: sa.Table
    inbox: sa.Table


def _outbox_columns() -> list[Any]:
    """As the services' first migrations created them; later columns are added by the steps below."""
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("aggregate_id", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        # How often the event failed on its own (a failure of the whole bus does not count); reset on release.
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
    ]


def _parked_at() -> sa.Column[Any]:
    """Set when the relay gave up on the event after `relay_max_attempts`; cleared by `outbox release`."""
    return sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True)


def _next_attempt_at() -> sa.Column[Any]:
    """Set with `attempts` when the event failed on its own: no relay (of any replica) tries it before then. Kept in
    the row, not in a relay's memory, because every pass may be another replica's. Cleared on release."""
    return sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)


def _inbox_columns() -> list[Any]:
    return [
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    ]


def add_messaging_tables(metadata: sa.MetaData) -> MessagingTables:
    outbox = sa.Table("outbox", metadata, *_outbox_columns(), _parked_at(), _next_attempt_at(),
                      sa.UniqueConstraint("event_id", name="uq_outbox_event_id"))
    unpublished = outbox.c.published_at.is_(None) & outbox.c.parked_at.is_(None)
    sa.Index("ix_outbox_unpublished", outbox.c.id, sqlite_where=unpublished, postgresql_where=unpublished)
    parked = outbox.c.parked_at.is_not(None)
    sa.Index("ix_outbox_parked", outbox.c.id, sqlite_where=parked, postgresql_where=parked)
    sa.Index("ix_outbox_published_at", outbox.c.published_at)
    inbox = sa.Table("inbox", metadata, *_inbox_columns())
    sa.Index("ix_inbox_processed_at", inbox.c.processed_at)
    return MessagingTables(outbox=outbox, inbox=inbox)


def create_messaging_tables(op: Any) -> None:
    """For a service's first migration: the tables as they were first; a new service's first migration then calls
    every later step here too (`add_outbox_parking`), so that it ends where `add_messaging_tables` describes."""
    op.create_table("outbox", *_outbox_columns(), sa.UniqueConstraint("event_id", name="uq_outbox_event_id"))
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], sqlite_where=sa.text("published_at IS NULL"),
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table("inbox", *_inbox_columns())
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def drop_messaging_tables(op: Any) -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")


def add_outbox_parking(op: Any) -> None:
    """Migration step: the outbox's `parked_at` and `next_attempt_at`, and the relay's index without parked events
    (events pausing before their next attempt are few: the relay skips them in that index's order)."""
    op.add_column("outbox", _parked_at())
    op.add_column("outbox", _next_attempt_at())
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], sqlite_where=sa.text(UNPUBLISHED),
                    postgresql_where=sa.text(UNPUBLISHED))
    op.create_index("ix_outbox_parked", "outbox", ["id"], sqlite_where=sa.text(PARKED),
                    postgresql_where=sa.text(PARKED))


def remove_outbox_parking(op: Any) -> None:
    """Undoes `add_outbox_parking`; parked events become unsent ones again, so the relay tries them once more."""
    op.drop_index("ix_outbox_parked", table_name="outbox")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("parked_at")
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], sqlite_where=sa.text("published_at IS NULL"),
                    postgresql_where=sa.text("published_at IS NULL"))
