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
        """Store the newer copy; returns whether it was (an older or repeated announcement changes nothing)."""
        return await upsert_if_newer(self.session, library_contacts, "code",
                                     {**institution.model_dump(mode="json", include=_FIELDS), "parent_known": True})

    async def get(self, code: str, *, share_lock: bool = False) -> dict[str, Any] | None:
        """The library's copy; with `share_lock`, the newest committed one, not changed by anyone else until this
        transaction ends (a newer announcement waits for it)."""
        query = sa.select(library_contacts).where(library_contacts.c.code == code)
        if share_lock:
            query = query.with_for_update(read=True)
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None
