from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)

# Notify's copy of the directory: where each library's ILL mail goes and in which language.
library_contacts = sa.Table(
    "library_contacts", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name_en", sa.String(300), nullable=False),
    sa.Column("name_zh", sa.String(300), nullable=True),
    sa.Column("ill_email", sa.String(320), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
