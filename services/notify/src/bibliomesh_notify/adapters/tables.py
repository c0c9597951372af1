from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Tables whose ids clients see say `sqlite_autoincrement`: SQLite must never hand a deleted row's id out again
# (without AUTOINCREMENT it does, and a new webhook inherited a deleted one's deliveries). Sequences never do.
WHEN = sa.DateTime(timezone=True)

# Notify's copy of the directory: where each library's ILL mail goes, in which language, and the university a
# branch library belongs to (whose patrons it may name on its requests). `parent_known` is false on rows copied
# before `parent_code` existed (migrations 0004, 0006), until the directory announces the library again.
library_contacts = sa.Table(
    "library_contacts", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name_en", sa.String(300), nullable=False),
    sa.Column("name_zh", sa.String(300), nullable=True),
    sa.Column("ill_email", sa.String(320), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("parent_code", sa.String(64), nullable=True),
    sa.Column("parent_known", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Notify's copy of the people with accounts (directory.person.changed): how to reach them, in which language.
people = sa.Table(
    "people", metadata,
    sa.Column("subject", sa.String(200), primary_key=True),
    sa.Column("institution", sa.String(64), nullable=False, index=True),
    sa.Column("display_name", sa.String(300), nullable=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# In-app notifications. `seq` counts per recipient in commit order (see notification_repository), so a stream
# resuming from Last-Event-ID misses nothing written concurrently by another replica. A notification for a patron
# notify does not know yet names the borrowing library in `unconfirmed_patron_of` and is shown to nobody until the
# person is announced as of that library's university (see service_layer/held_notifications).
notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("message_kind", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=True),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("read_at", WHEN, nullable=True),
    sa.Column("unconfirmed_patron_of", sa.String(64), nullable=True),
    sa.UniqueConstraint("recipient", "dedup_key", name="uq_notifications_recipient_dedup_key"),
    sa.UniqueConstraint("recipient", "seq", name="uq_notifications_recipient_seq"),
    sqlite_autoincrement=True,
)

recipient_sequences = sa.Table(
    "recipient_sequences", metadata,
    sa.Column("recipient", sa.String(200), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

# E-mails and webhook posts to send: one row per (key, recipient, channel), written with the event's inbox row. A
# webhook's deliveries are of its institution, and are deleted with it.
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(2000), nullable=False),
    sa.Column("message_kind", sa.String(64), nullable=True),
    sa.Column("event_type", sa.String(200), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("webhook_id", BIG_ID, nullable=True, index=True),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("message_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", WHEN, nullable=True),
    sa.Column("lease_until", WHEN, nullable=True),
    sa.Column("lease_owner", sa.String(36), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("sent_at", WHEN, nullable=True),
    sa.UniqueConstraint("dedup_key", "recipient", "channel", name="uq_deliveries_dedup_key"),
    sqlite_autoincrement=True,
)
sa.Index("ix_deliveries_due", deliveries.c.channel, deliveries.c.status, deliveries.c.next_attempt_at)
sa.Index("ix_deliveries_address_sent", deliveries.c.address, deliveries.c.sent_at)

webhooks = sa.Table(
    "webhooks", metadata,
    sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("institution", sa.String(64), nullable=False, index=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("event_types", sa.JSON, nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("created_at", WHEN, nullable=False),
    sa.Column("updated_at", WHEN, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sqlite_autoincrement=True,
)

# A person's (subject) or a library mailbox's (`mailbox:<code>`) choices.
preferences = sa.Table(
    "preferences", metadata,
    sa.Column("owner", sa.String(200), primary_key=True),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("digest", sa.Boolean, nullable=False),
    sa.Column("updated_at", WHEN, nullable=False),
)

template_overrides = sa.Table(
    "template_overrides", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("message_kind", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("updated_at", WHEN, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

digest_runs = sa.Table(
    "digest_runs", metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("ran_at", WHEN, nullable=False),
)

# The live streams open in every replica, so that the cap on a person's streams holds across replicas: a stream
# refreshes `seen_at` each time it rechecks; rows not refreshed for a while (a replica that stopped) do not count.
live_streams = sa.Table(
    "live_streams", metadata,
    sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(200), nullable=False, index=True),
    sa.Column("opened_at", WHEN, nullable=False),
    sa.Column("seen_at", WHEN, nullable=False),
    sqlite_autoincrement=True,
)
