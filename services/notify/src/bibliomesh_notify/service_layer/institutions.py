"""Which institutions notify keeps settings for: those in its copy of the directory (from auth's events)."""

from __future__ import annotations

from typing import Any

from bibliomesh_notify.adapters.contact_repository import ContactRepository
from meshkit.problems import NotFound, NotInDirectoryCopy
from meshkit.unit_of_work import UnitOfWork


async def known_institution(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """The institution as notify's copy of the directory has it; 404 naming it while the directory has not
    announced it."""
    found = await ContactRepository(uow.session).get(code)
    if found is None:
        raise NotFound(f"notify does not know {code} yet", institution=code)
    return found


async def require_known(uow: UnitOfWork, code: str) -> None:
    """Refuse (409, `Retry-After`, as the catalogue does) a setting stored for an institution the directory copy
    does not hold: nothing may be stored for a code that names no institution, and a new one arrives in seconds."""
    if await ContactRepository(uow.session).get(code) is None:
        raise NotInDirectoryCopy(code, "notification service")
