from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_notify.adapters.tables import library_contacts
from meshkit.replica import upsert_if_newer

_FIELDS = {"code", "parent_code", "name_en", "name_zh", "ill_email", "language", "status", "version"}


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, institution: InstitutionSnapshot) -> bool:
        return await upsert_if_newer(self.session, library_contacts, "code",
                                     institution.model_dump(mode="json", include=_FIELDS))

    async def get(self, code: str) -> dict[str, Any] | None:
        row = (await self.session.execute(sa.select(library_contacts).where(library_contacts.c.code == code))).first()
        return dict(row._mapping) if row else None
