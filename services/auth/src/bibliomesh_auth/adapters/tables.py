"""The auth service's tables: the directory, API clients and signing keys."""

from __future__ import annotations

import sqlalchemy as sa

from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)

institutions = sa.Table(
    "institutions", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name_en", sa.String(300), nullable=False),
    sa.Column("name_zh", sa.String(300), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("parent_code", sa.String(64), sa.ForeignKey("institutions.code"), nullable=True),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("open_sharing", sa.Boolean, nullable=False),
    sa.Column("pickup_locations", sa.JSON, nullable=False),
    sa.Column("ill_email", sa.String(320), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("iso18626", sa.JSON, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

clients = sa.Table(
    "clients", metadata,
    sa.Column("client_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("secret_hash", sa.String(200), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("redirect_uris", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("grant_types", sa.JSON, nullable=False, server_default='["client_credentials"]'),
    sa.Column("is_public", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_by", sa.String(200), nullable=True),
    # Access tokens of the client issued (`iat`) before this moment are refused for good: set when it is disabled.
    sa.Column("tokens_not_before", sa.DateTime(timezone=True), nullable=True),
)

signing_keys = sa.Table(
    "signing_keys", metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("private_jwk", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("activates_at", sa.DateTime(timezone=True), nullable=True),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("institution", sa.String(64), sa.ForeignKey("institutions.code"), nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("display_name", sa.String(300), nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("pickup_location", sa.String(200), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("external_issuer", sa.String(500), nullable=True),
    sa.Column("external_subject", sa.String(500), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Access tokens of the person issued (`iat`) before this moment are refused for good: set when they are disabled.
    sa.Column("tokens_not_before", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("institution", "username", name="uq_users_institution_username"),
    sa.UniqueConstraint("external_issuer", "external_subject", name="uq_users_external_identity"),
)
# One person, one name: `QStaff` and `qstaff` cannot both be accounts of an institution (migration 0003).
sa.Index("uq_users_institution_username_folded", users.c.institution, sa.func.lower(users.c.username), unique=True)

refresh_tokens = sa.Table(
    "refresh_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("family_id", sa.String(36), nullable=False, index=True),
    sa.Column("client_id", sa.String(100), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=True),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # When the person signed in: every token of the family carries it into its ID tokens (migration 0009).
    sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
)

authorization_codes = sa.Table(
    "authorization_codes", metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(100), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("nonce", sa.String(200), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    # What the code was redeemed for: a replay of the code revokes them (OAuth 2.1 §4.1.3).
    sa.Column("family_id", sa.String(36), nullable=True),
    sa.Column("access_token_id", sa.String(64), nullable=True),
    sa.Column("access_token_expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
)

identity_providers = sa.Table(
    "identity_providers", metadata,
    sa.Column("institution", sa.String(64), sa.ForeignKey("institutions.code"), primary_key=True),
    sa.Column("protocol", sa.String(16), nullable=False),
    sa.Column("issuer", sa.String(500), nullable=False),
    sa.Column("client_id", sa.String(300), nullable=False),
    sa.Column("client_secret", sa.Text, nullable=False),
    sa.Column("scopes", sa.String(300), nullable=False),
    sa.Column("claims", sa.JSON, nullable=False),
    sa.Column("role_rules", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

signin_states = sa.Table(
    "signin_states", metadata,
    sa.Column("state", sa.String(64), primary_key=True),
    sa.Column("institution", sa.String(64), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("upstream_nonce", sa.String(64), nullable=True),
    sa.Column("upstream_verifier", sa.String(128), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

revoked_access_tokens = sa.Table(
    "revoked_access_tokens", metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(300), nullable=True),
    sa.Column("institution", sa.String(64), nullable=True, index=True),
    sa.Column("target", sa.String(300), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_audit_events_ip_at", "ip", "at"),  # failed sign-ins per address (local_login.authenticate)
)
