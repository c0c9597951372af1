"""The outbox and inbox tables, added to each service's own metadata and created by its own migrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class MessagingTables:
    outbox: sa.Table
    inbox: sa.Table


def _outbox_columns() -> list[Any]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("aggregate_id", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
    ]


def _inbox_columns() -> list[Any]:
    return [
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    ]


def add_messaging_tables(metadata: sa.MetaData) -> MessagingTables:
    outbox = sa.Table("outbox", metadata, *_outbox_columns(),
                      sa.UniqueConstraint("event_id", name="uq_outbox_event_id"))
    sa.Index("ix_outbox_unpublished", outbox.c.id, sqlite_where=outbox.c.published_at.is_(None),
             postgresql_where=outbox.c.published_at.is_(None))
    sa.Index("ix_outbox_published_at", outbox.c.published_at)
    inbox = sa.Table("inbox", metadata, *_inbox_columns())
    sa.Index("ix_inbox_processed_at", inbox.c.processed_at)
    return MessagingTables(outbox=outbox, inbox=inbox)


def create_messaging_tables(op: Any) -> None:
    """For a service's first migration: the same tables as `add_messaging_tables` describes."""
    op.create_table("outbox", *_outbox_columns(), sa.UniqueConstraint("event_id", name="uq_outbox_event_id"))
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], sqlite_where=sa.text("published_at IS NULL"),
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table("inbox", *_inbox_columns())
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def drop_messaging_tables(op: Any) -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
