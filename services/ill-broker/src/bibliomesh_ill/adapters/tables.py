from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)

# The broker's copy of the directory: what routing needs, kept current from directory events.
members = sa.Table(
    "members", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("parent_code", sa.String(64), nullable=True),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("open_sharing", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("iso18626", sa.JSON, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# The broker's copy of who holds what, kept from `catalog.holdings.changed`; withdrawn items stay as tombstones
# so that a late, older event cannot bring them back.
holdings = sa.Table(
    "holdings", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("cluster_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("local_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("due_date", sa.Date, nullable=True),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("ill_copy_allowed", sa.Boolean, nullable=False),
    sa.Column("location", sa.String(200), nullable=True),
    sa.Column("call_number", sa.String(200), nullable=True),
    sa.Column("isbns", sa.JSON, nullable=False),
    sa.Column("issns", sa.JSON, nullable=False),
    sa.Column("oclc_numbers", sa.JSON, nullable=False),
    sa.Column("title_key", sa.String(300), nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
