from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables

TITLE_LENGTH = 500  # a request's title, and the titles of the holdings copy it is taken from
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
    sa.Column("pickup_locations", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("name", sa.String(300), nullable=False, server_default=""),
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
    sa.Column("title_key", sa.String(300), nullable=False, index=True),
    sa.Column("title", sa.String(TITLE_LENGTH), nullable=True),   # null: copied from an event older than the field
    sa.Column("alt_title", sa.String(TITLE_LENGTH), nullable=True),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# Identifiers of the held records, so a citation (ISBN, ISSN, OCLC number) finds holders without the catalogue.
holding_identifiers = sa.Table(
    "holding_identifiers", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("value", sa.String(40), primary_key=True),
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
)

# One interlibrary-loan request: the borrowing side's state and, while a lender is asked, the lending side's.
requests = sa.Table(
    "requests", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("borrower", sa.String(64), nullable=False, index=True),
    sa.Column("patron_id", sa.String(200), nullable=True, index=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("peer_request_id", sa.String(200), nullable=True),
    sa.Column("cluster_id", sa.BigInteger, nullable=True),
    sa.Column("item_key", sa.String(320), nullable=False, index=True),
    sa.Column("citation", sa.JSON, nullable=False),
    sa.Column("title", sa.String(TITLE_LENGTH), nullable=False),
    sa.Column("service_type", sa.String(16), nullable=False),
    sa.Column("service_level", sa.String(8), nullable=False),
    sa.Column("pickup_location", sa.String(200), nullable=True),
    sa.Column("needed_by", sa.Date, nullable=True),
    sa.Column("max_cost", sa.JSON, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("requester_state", sa.String(24), nullable=False, index=True),
    sa.Column("supplier_state", sa.String(24), nullable=True),
    sa.Column("lender", sa.String(64), nullable=True, index=True),
    sa.Column("rota_position", sa.Integer, nullable=True),
    sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True, index=True),
    sa.Column("due_date", sa.Date, nullable=True, index=True),
    sa.Column("reminded_due_date", sa.Date, nullable=True),
    sa.Column("renewal_pending", sa.Boolean, nullable=False, default=False),
    sa.Column("conditions", sa.JSON, nullable=True),
    sa.Column("delivery", sa.JSON, nullable=True),
    sa.Column("duplicate_of", sa.String(40), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_requests_lender_supplier_state", "lender", "supplier_state"),  # loans out per lender
)
# A peer's request id is its key for retries: a retry that overtakes the first message must not make a second request.
peer_request_ids = sa.Index(
    "ix_requests_borrower_peer_request_id", requests.c.borrower, requests.c.peer_request_id, unique=True,
    sqlite_where=requests.c.peer_request_id.is_not(None), postgresql_where=requests.c.peer_request_id.is_not(None))

# The rota: every lender placed (position) or skipped (no position), with the reason, and what became of it.
rota_entries = sa.Table(
    "rota_entries", metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, nullable=True),
    sa.Column("lender", sa.String(64), nullable=False, index=True),
    sa.Column("tier", sa.String(16), nullable=True),
    sa.Column("on_shelf", sa.Boolean, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    # what routing reads on every decision: a lender's recent supplies, and everything supplied since a date
    sa.Index("ix_rota_entries_lender_shipped_at", "lender", "shipped_at"),
    sa.Index("ix_rota_entries_shipped_at", "shipped_at"),
)

# The audit trail: every step of every request, who took it, when and why.
request_steps = sa.Table(
    "request_steps", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(40), nullable=False, index=True),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("action", sa.String(32), nullable=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("actor_institution", sa.String(64), nullable=True),
    sa.Column("party", sa.String(16), nullable=False),
    sa.Column("lender", sa.String(64), nullable=True),
    sa.Column("requester_state", sa.String(24), nullable=False),
    sa.Column("supplier_state", sa.String(24), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# The fingerprint of every message a peer sent that the broker accepted, to know it again when resent: a resend
# matches on what it says with its timestamp, or with ReShare's sequence number (service_layer/peers/fingerprints.py).
# Unique, so that of two copies arriving at once only one is kept (and applied).
peer_message_fingerprints = sa.Table(
    "peer_message_fingerprints", metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("by_timestamp", sa.String(64), primary_key=True),
    sa.Column("by_sequence", sa.String(64), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_peer_message_fingerprints_by_sequence", "request_id", "by_sequence", unique=True,
             sqlite_where=sa.text("by_sequence IS NOT NULL"), postgresql_where=sa.text("by_sequence IS NOT NULL")),
)

# Purchase suggestions from repeated demand, one per institution and item.
acquisition_suggestions = sa.Table(
    "acquisition_suggestions", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("item_key", sa.String(320), primary_key=True),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("request_count", sa.Integer, nullable=False),
    sa.Column("request_ids", sa.JSON, nullable=False),
    sa.Column("suggested_at", sa.DateTime(timezone=True), nullable=False),
)

# Each institution's threshold for purchase suggestions (defaults come from the broker's settings).
acquisition_settings = sa.Table(
    "acquisition_settings", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("threshold", sa.Integer, nullable=False),
    sa.Column("window_days", sa.Integer, nullable=False),
)

# ISO 18626 messages waiting to go to peers outside the platform: written with the step that caused them,
# sent in order per request by a background worker, retried with backoff, kept as a log.
peer_messages = sa.Table(
    "peer_messages", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(40), nullable=False, index=True),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("peer", sa.String(64), nullable=False),
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("version", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
)

# A copy delivered as a file (rather than a URL): kept in the database so every replica can serve it.
delivered_files = sa.Table(
    "delivered_files", metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
)
