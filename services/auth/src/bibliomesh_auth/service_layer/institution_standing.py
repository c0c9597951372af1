"""A suspended institution takes no part in sign-in: its people and its API clients get no new tokens, by any grant
or browser sign-in, until it is reinstated."""

from __future__ import annotations

from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from meshkit.unit_of_work import UnitOfWork


async def suspended_among(uow: UnitOfWork, platform_institution: str, *institutions: str) -> str | None:
    """The first of `institutions` that is suspended, or None.

    The platform operator's own institution never counts: suspending it would lock out the platform admins who
    alone can reinstate anyone."""
    repo = InstitutionRepository(uow.session)
    for code in dict.fromkeys(institutions):
        if code == platform_institution:
            continue
        institution = await repo.get(code)
        if institution is not None and institution.status != "active":
            return code
    return None
