from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)

# The catalogue's copy of the directory: holder names and regions for display and facets.
holders = sa.Table(
    "holders", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name_en", sa.String(300), nullable=False),
    sa.Column("name_zh", sa.String(300), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("parent_code", sa.String(64), nullable=True),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# One row per institution's record (a "member" of a cluster). Descriptive fields are extracted at ingest for
# matching, display and search; the full record is kept as MARC-in-JSON.
records = sa.Table(
    "records", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("local_id", sa.String(200), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("title_key", sa.String(300), nullable=False),
    sa.Column("author", sa.Text, nullable=True),
    sa.Column("author_key", sa.String(200), nullable=True),
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("description", sa.JSON, nullable=False),
    sa.Column("marc", sa.Text, nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("cluster_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("match_key", sa.String(300), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("institution", "local_id", name="uq_records_institution_local_id"),
)

# Normalized match keys of each record: isbn, issn, oclc, lccn, and a title/author/year/format key.
record_keys = sa.Table(
    "record_keys", metadata,
    sa.Column("record_id", sa.BigInteger, sa.ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("value", sa.String(300), primary_key=True),
    sa.Index("ix_record_keys_kind_value", "kind", "value"),
)

holdings = sa.Table(
    "holdings", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.BigInteger, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("item_id", sa.String(200), nullable=False),
    sa.Column("location", sa.String(200), nullable=True),
    sa.Column("call_number", sa.String(200), nullable=True),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("due_date", sa.Date, nullable=True),
    sa.Column("ill_copy_allowed", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("institution", "item_id", name="uq_holdings_institution_item_id"),
)

# The union record: members share it; `work_id` links print and electronic clusters of the same work.
clusters = sa.Table(
    "clusters", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("work_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("display", sa.JSON, nullable=False),
    sa.Column("member_count", sa.Integer, nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# OAI-PMH set membership of each cluster (migration 0008): the institutions holding its items, kept as they change.
# `left_at` is when the cluster stopped being in the set (null: still in it). A deleted cluster's rows are frozen
# as they were when it went, so its deleted header keeps the sets it was in (`adapters/oai_sets.py`).
cluster_sets = sa.Table(
    "cluster_sets", metadata,
    sa.Column("cluster_id", sa.BigInteger, primary_key=True),
    sa.Column("set_spec", sa.String(64), primary_key=True),
    sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_cluster_sets_set_spec_cluster_id", "set_spec", "cluster_id"),
)

# Institutions whose change of status (suspended, reinstated) is still being carried into the search documents
# of the clusters they hold (migration 0011): recomputed in batches of clusters, `after_cluster_id` being where the
# last committed batch ended, so the work resumes there after a restart (`service_layer/availability_refresh.py`).
availability_refreshes = sa.Table(
    "availability_refreshes", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("after_cluster_id", sa.BigInteger, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
)

# Staff decisions that override matching; keyed by (institution, local_id) so they survive re-ingest.
cluster_overrides = sa.Table(
    "cluster_overrides", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("decision", sa.String(8), nullable=False),
    sa.Column("a_institution", sa.String(64), nullable=False),
    sa.Column("a_local_id", sa.String(200), nullable=False),
    sa.Column("b_institution", sa.String(64), nullable=False),
    sa.Column("b_local_id", sa.String(200), nullable=False),
    sa.Column("decided_by", sa.String(300), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.UniqueConstraint("a_institution", "a_local_id", "b_institution", "b_local_id",
                        name="uq_cluster_overrides_pair"),
)

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("institution", sa.String(64), nullable=False, index=True),
    sa.Column("filename", sa.String(500), nullable=True),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=True),
    sa.Column("bytes_total", sa.BigInteger, nullable=True),
    sa.Column("bytes_read", sa.BigInteger, nullable=False),
    sa.Column("records_read", sa.Integer, nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(300), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    # The replica running the job and until when its heartbeat holds (migration 0005, `adapters/leases.py`).
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
)

# An institution's OAI-PMH endpoint; `metadata_prefix` null means "the best format the source offers".
harvest_sources = sa.Table(
    "harvest_sources", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("base_url", sa.Text, nullable=False),
    sa.Column("metadata_prefix", sa.String(40), nullable=True),
    sa.Column("set_spec", sa.String(200), nullable=True),
    sa.Column("interval_minutes", sa.Integer, nullable=False),
    sa.Column("last_datestamp", sa.String(40), nullable=True),
    sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_status", sa.String(16), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_by", sa.String(300), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    # Counts the changes of what is harvested (base URL, set, format; migration 0007): a harvest writes its
    # cursor only while the source still has the version it started with.
    sa.Column("target_version", sa.Integer, nullable=False, server_default=sa.text("0")),
)

# One harvest of a source: requested (`queued`) or scheduled, then `running`, `succeeded` or `failed`.
harvest_runs = sa.Table(
    "harvest_runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("institution", sa.String(64), nullable=False, index=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("metadata_prefix", sa.String(40), nullable=True),
    sa.Column("harvested_from", sa.String(40), nullable=True),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("records_read", sa.Integer, nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Integer, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("failure", sa.Text, nullable=True),
    sa.Column("requested_by", sa.String(300), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

# The last version of each item that went away (migration 0003), so that an item coming back continues its
# version sequence and consumers keeping copies by version do not ignore it as old.
holding_tombstones = sa.Table(
    "holding_tombstones", metadata,
    sa.Column("institution", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
)
