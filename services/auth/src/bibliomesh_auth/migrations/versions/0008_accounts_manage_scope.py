"""clients: `accounts:manage` for every client that held every scope before it existed

Account and API-client administration now needs the `accounts:manage` scope. A client registered to hold all the
platform's scopes (the bootstrap client, browser clients registered with the default, the platform's own tools) keeps
holding all of them, so the admins who sign in through it can still manage accounts; no other client gains it.

Revision ID: 0008
Revises: 0007
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW = "accounts:manage"
BEFORE = frozenset({"openid", "catalog:read", "catalog:write", "ill:request", "ill:lend", "ill:manage",
                    "notify:manage", "directory:admin"})
clients = sa.table("clients", sa.column("client_id", sa.String), sa.column("scopes", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    for client_id, scopes in bind.execute(sa.select(clients.c.client_id, clients.c.scopes)).all():
        held = set(json.loads(scopes) if isinstance(scopes, str) else scopes)
        if BEFORE <= held and NEW not in held:
            bind.execute(clients.update().where(clients.c.client_id == client_id).values(scopes=sorted(held | {NEW})))


def downgrade() -> None:
    bind = op.get_bind()
    for client_id, scopes in bind.execute(sa.select(clients.c.client_id, clients.c.scopes)).all():
        held = set(json.loads(scopes) if isinstance(scopes, str) else scopes)
        if NEW in held:
            bind.execute(clients.update().where(clients.c.client_id == client_id).values(scopes=sorted(held - {NEW})))
