"""Who takes part in a request, as seen from one caller."""

from __future__ import annotations

from enum import StrEnum

from meshkit.security import Principal


class Party(StrEnum):
    PATRON = "patron"        # the person the request is for
    BORROWER = "borrower"    # staff of the requesting institution
    LENDER = "lender"        # staff of the lender currently asked
    SYSTEM = "system"        # timers and routing


def parties_of(caller: Principal, *, borrower: str, lender: str | None, patron_id: str | None) -> frozenset[Party]:
    """The parts `caller` may play in one request. Staff act for their own institution only; a platform admin
    may act for either library (support), never as the patron."""
    if caller.institution == "*" and "system" in caller.roles:
        return frozenset({Party.SYSTEM})
    parties: set[Party] = set()
    admin = caller.is_platform_admin
    if (caller.institution == borrower or admin) and caller.has_scope("ill:manage"):
        parties.add(Party.BORROWER)
    if lender is not None and (caller.institution == lender or admin) and caller.has_scope("ill:lend"):
        parties.add(Party.LENDER)
    if caller.institution == borrower and patron_id == caller.subject and caller.has_scope("ill:request"):
        parties.add(Party.PATRON)
    return frozenset(parties)
