"""The catalogue's copy of the directory (holder names, regions, status), kept from directory events, and the rule
that writes name an institution that copy knows."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.availability_refreshes import AvailabilityRefreshes
from bibliomesh_catalog.adapters.holder_repository import HolderRepository
from bibliomesh_catalog.adapters.record_repository import lock_for_writing
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from meshkit.problems import NotInDirectoryCopy

log = logging.getLogger(__name__)


async def require_known(session: AsyncSession, *institutions: str) -> None:
    """Refuse (409) a write for an institution the directory copy does not hold: records, holdings, imports and
    harvest sources of a code auth never announced would be shown, indexed and routed to as a holder nobody can
    name, suspend or reach. The copy is asked, never auth: a write does not depend on auth being up."""
    holders = HolderRepository(session)
    for institution in dict.fromkeys(institutions):
        if not await holders.knows(institution):
            raise NotInDirectoryCopy(institution, "catalogue")


async def copy_institution(session: AsyncSession, institution: InstitutionSnapshot) -> bool:
    """Store the institution unless the copy is as new already. When its status changed (suspended, reinstated),
    a recompute of whether the clusters it holds items of can be had now is requested in the same transaction
    (`availability_refresh` does it in batches); returns whether one was."""
    # Taken first, as ingest does: a batch being stored meanwhile must not index the status it read before.
    await lock_for_writing(session)
    holders = HolderRepository(session)
    before = await holders.status_of(institution.code)
    # An institution not copied yet already counts as active, so its first copy changes nothing unless suspended.
    if not await holders.apply(institution) or (before or "active") == institution.status:
        return False
    await AvailabilityRefreshes(session).request(institution.code)
    log.info("holder status changed", extra={"institution": institution.code, "status": institution.status})
    return True
