"""All directory queries live here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import institutions
from bibliomesh_contracts.events.directory import InstitutionSnapshot

_COLUMNS = ("code", "name_en", "name_zh", "kind", "parent_code", "regions", "open_sharing", "pickup_locations",
            "ill_email", "language", "status", "policy", "iso18626", "version")


def _snapshot(row: Any) -> InstitutionSnapshot:
    return InstitutionSnapshot.model_validate({c: getattr(row, c) for c in _COLUMNS})


class VersionConflict(Exception):
    pass


class InstitutionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str, *, share: bool = False) -> InstitutionSnapshot | None:
        """The institution; with `share`, no one changes it until this transaction ends (PostgreSQL)."""
        statement = sa.select(institutions).where(institutions.c.code == code)
        if share:
            statement = statement.with_for_update(read=True)
        row = (await self.session.execute(statement)).first()
        return _snapshot(row) if row else None

    async def codes(self) -> list[str]:
        """Every institution's code, suspended ones' too."""
        return list((await self.session.scalars(sa.select(institutions.c.code))).all())

    async def list(self, *, kind: str | None = None, region: str | None = None,
                   status: str | None = None) -> list[InstitutionSnapshot]:
        query = sa.select(institutions).order_by(institutions.c.code)
        if kind:
            query = query.where(institutions.c.kind == kind)
        if status:
            query = query.where(institutions.c.status == status)
        rows = [_snapshot(r) for r in await self.session.execute(query)]
        return [r for r in rows if region is None or region in r.regions]

    async def add(self, institution: InstitutionSnapshot) -> None:
        now = datetime.now(UTC)
        await self.session.execute(sa.insert(institutions).values(
            **institution.model_dump(mode="json"), created_at=now, updated_at=now))

    async def replace(self, institution: InstitutionSnapshot, expected_version: int) -> None:
        """Optimistic concurrency: a concurrent change makes this fail rather than be overwritten."""
        values = institution.model_dump(mode="json")
        result = await self.session.execute(
            sa.update(institutions)
            .where(institutions.c.code == institution.code, institutions.c.version == expected_version)
            .values(**values, updated_at=datetime.now(UTC)))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise VersionConflict(institution.code)
