"""Signing keys: the newest active one signs; retired ones stay published until their tokens have expired."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import signing_keys


class KeyStore:
    def __init__(self, session: AsyncSession, publish_retired_for: timedelta) -> None:
        self.session = session
        self.publish_retired_for = publish_retired_for

    async def signing_key(self) -> ECKey:
        row = (await self.session.execute(
            sa.select(signing_keys.c.private_jwk).where(signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created_at.desc()).limit(1))).first()
        if row is None:
            raise LookupError("no active signing key")
        return ECKey.import_key(json.loads(row.private_jwk))

    async def public_key_set(self) -> KeySet:
        cutoff = datetime.now(UTC) - self.publish_retired_for
        rows = await self.session.execute(
            sa.select(signing_keys.c.private_jwk)
            .where(sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > cutoff))
            .order_by(signing_keys.c.created_at.desc()))
        return KeySet([ECKey.import_key(json.loads(r.private_jwk)) for r in rows])

    async def create(self) -> str:
        kid = uuid.uuid4().hex
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})
        await self.session.execute(sa.insert(signing_keys).values(
            kid=kid, private_jwk=json.dumps(key.as_dict(private=True)), created_at=datetime.now(UTC)))
        return kid

    async def has_active_key(self) -> bool:
        return bool(await self.session.scalar(
            sa.select(sa.func.count()).select_from(signing_keys).where(signing_keys.c.retired_at.is_(None))))
