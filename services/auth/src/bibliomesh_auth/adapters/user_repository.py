"""All account queries."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import users
from bibliomesh_auth.domain.accounts import User
from meshkit.db import lock_until_commit


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes, written as UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _user(row: Any) -> User:
    return User(id=row.id, institution=row.institution, username=row.username, email=row.email,
                display_name=row.display_name, roles=frozenset(row.roles), pickup_location=row.pickup_location,
                language=row.language, status=row.status, password_hash=row.password_hash,
                failed_logins=row.failed_logins, locked_until=_utc(row.locked_until),
                external_issuer=row.external_issuer, external_subject=row.external_subject, version=row.version,
                tokens_not_before=_utc(row.tokens_not_before))


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> User | None:
        row = (await self.session.execute(sa.select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def by_username(self, institution: str, username: str) -> User | None:
        """The account whose username is `username` in any case (`QStaff` is `qstaff`: one person, one name)."""
        row = (await self.session.execute(sa.select(users).where(
            users.c.institution == institution,
            sa.func.lower(users.c.username) == sa.func.lower(sa.literal(username))))).first()
        return _user(row) if row else None

    async def by_external_identity(self, issuer: str, subject: str, *, lock: bool = False) -> User | None:
        """With `lock`, another transaction asking with `lock` for the same person waits until this one ends: two
        first sign-ins at once then create one account (on SQLite the second would otherwise fail its write)."""
        if lock:
            await lock_until_commit(self.session, zlib.crc32(f"auth-person:{issuer} {subject}".encode()), users)
        row = (await self.session.execute(sa.select(users).where(
            users.c.external_issuer == issuer, users.c.external_subject == subject))).first()
        return _user(row) if row else None

    async def list(self, institution: str | None, *, role: str | None = None, query: str | None = None,
                   status: str | None = None, limit: int = 100, offset: int = 0) -> list[User]:
        """Accounts ordered by institution and username; `institution=None` means every institution."""
        statement = sa.select(users).order_by(users.c.institution, users.c.username)
        if institution is not None:
            statement = statement.where(users.c.institution == institution)
        if query:
            # The words typed, not a pattern: `%` and `_` match themselves.
            escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            statement = statement.where(sa.or_(*(sa.func.lower(column).like(pattern, escape="\\") for column in
                                                 (users.c.username, users.c.display_name, users.c.email))))
        if role:
            # Roles are a JSON list of known names, so a quoted match on its text form is exact on both engines.
            statement = statement.where(sa.cast(users.c.roles, sa.Text).like(f'%"{role}"%'))
        if status:
            statement = statement.where(users.c.status == status)
        return [_user(r) for r in await self.session.execute(statement.limit(limit).offset(offset))]

    async def pickup_location_use(self, institution: str, locations: Sequence[str]) -> dict[str, int]:
        """How many accounts of the institution (disabled ones too) have each of these pickup locations, for those
        that any have."""
        if not locations:
            return {}
        rows = await self.session.execute(
            sa.select(users.c.pickup_location, sa.func.count())
            .where(users.c.institution == institution, users.c.pickup_location.in_(locations))
            .group_by(users.c.pickup_location))
        return {str(location): int(count) for location, count in rows}

    async def add(self, **values: Any) -> User:
        now = datetime.now(UTC)
        row = {"id": str(uuid.uuid4()), "email": None, "display_name": None, "password_hash": None,
               "pickup_location": None, "language": "en", "status": "active", "external_issuer": None,
               "external_subject": None, **values, "roles": sorted(values.get("roles", ["patron"])),
               "failed_logins": 0, "created_at": now, "updated_at": now, "version": 1}
        await self.session.execute(sa.insert(users).values(**row))
        user = await self.get(row["id"])
        assert user is not None
        return user

    async def update(self, user: User, **changes: Any) -> User:
        """Optimistic: raises ConcurrentUpdate if someone changed the account meanwhile."""
        if "roles" in changes:
            changes["roles"] = sorted(changes["roles"])
        result = await self.session.execute(
            sa.update(users).where(users.c.id == user.id, users.c.version == user.version)
            .values(**changes, updated_at=datetime.now(UTC), version=user.version + 1))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(user.id)
        updated = await self.get(user.id)
        assert updated is not None
        return updated

    async def record_login_result(self, user: User, *, failed_logins: int, locked_until: datetime | None) -> None:
        # Not versioned: counting failures must not fail because the profile was edited meanwhile.
        await self.session.execute(sa.update(users).where(users.c.id == user.id)
                                   .values(failed_logins=failed_logins, locked_until=locked_until))


class ConcurrentUpdate(Exception):
    pass
