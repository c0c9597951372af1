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
