"""Signing keys: the newest active one signs; retired ones stay published until their tokens have expired.

Private keys are sealed with the SecretBox before they reach the database.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import signing_keys
from meshkit.secret_box import SecretBox


class KeyStore:
    def __init__(self, session: AsyncSession, box: SecretBox, publish_retired_for: timedelta) -> None:
        self.session = session
        self.box = box
        self.publish_retired_for = publish_retired_for

    def _key(self, stored: str) -> ECKey:
        return ECKey.import_key(json.loads(self.box.open(stored)))

    async def signing_key(self) -> ECKey:
        """The newest key whose activation time has come and that is not retired yet."""
        now = datetime.now(UTC)
        activates = sa.func.coalesce(signing_keys.c.activates_at, signing_keys.c.created_at)
        row = (await self.session.execute(
            sa.select(signing_keys.c.private_jwk)
            .where(activates <= now, sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now))
            .order_by(activates.desc()).limit(1))).first()
        if row is None:
            raise LookupError("no active signing key")
        return self._key(row.private_jwk)

    async def public_key_set(self) -> KeySet:
        cutoff = datetime.now(UTC) - self.publish_retired_for
        rows = await self.session.execute(
            sa.select(signing_keys.c.private_jwk)
            .where(sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > cutoff))
            .order_by(signing_keys.c.created_at.desc()))
        return KeySet([self._key(r.private_jwk) for r in rows])

    async def create(self, activates_at: datetime | None = None) -> str:
        kid = uuid.uuid4().hex
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})
        now = datetime.now(UTC)
        await self.session.execute(sa.insert(signing_keys).values(
            kid=kid, private_jwk=self.box.seal(json.dumps(key.as_dict(private=True))),
            created_at=now, activates_at=activates_at or now))
        return kid

    async def rotate(self, publish_ahead: timedelta) -> tuple[str, list[str]]:
        """A new key, published now and signing after `publish_ahead` (so verifiers have fetched it first);
        the current keys stop signing at that moment and stay published until their tokens have expired."""
        switch_at = datetime.now(UTC) + publish_ahead
        rows = await self.session.execute(sa.select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None)))
        retiring = [r.kid for r in rows]
        if retiring:
            await self.session.execute(sa.update(signing_keys).where(signing_keys.c.kid.in_(retiring))
                                       .values(retired_at=switch_at))
        return await self.create(activates_at=switch_at), retiring

    async def seal_plaintext_keys(self) -> int:
        """Keys stored before encryption at rest existed are sealed in place."""
        rows = (await self.session.execute(sa.select(signing_keys.c.kid, signing_keys.c.private_jwk))).all()
        plain = [r for r in rows if not r.private_jwk.startswith("fernet:")]
        for row in plain:
            await self.session.execute(sa.update(signing_keys).where(signing_keys.c.kid == row.kid)
                                       .values(private_jwk=self.box.seal(row.private_jwk)))
        return len(plain)

    async def has_active_key(self) -> bool:
        return bool(await self.session.scalar(
            sa.select(sa.func.count()).select_from(signing_keys).where(signing_keys.c.retired_at.is_(None))))

    async def describe(self) -> list[dict[str, datetime | str | None]]:
        """Every stored key's id and lifecycle times, newest first (never key material)."""
        rows = await self.session.execute(
            sa.select(signing_keys.c.kid, signing_keys.c.created_at, signing_keys.c.activates_at,
                      signing_keys.c.retired_at).order_by(signing_keys.c.created_at.desc()))
        return [{"kid": r.kid, "created_at": r.created_at, "activates_at": r.activates_at or r.created_at,
                 "retired_at": r.retired_at} for r in rows]

    async def purge_expired(self) -> int:
        cutoff = datetime.now(UTC) - self.publish_retired_for
        result = await self.session.execute(sa.delete(signing_keys).where(signing_keys.c.retired_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
