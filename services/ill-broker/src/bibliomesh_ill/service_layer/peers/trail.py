"""What the request's audit trail tells about its ISO 18626 transaction that one step does not: every message a
peer sent that the broker accepted, with its fingerprint (resends are found by an index of those, `resends.py`),
the agency an outside borrower's request named (ISO 18626 keeps one supplying agency for the whole transaction,
whichever lender the broker asks), whether the rota went on after a lender declined, and the lenders' own reason
when it ends unfilled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.codes import REASONS_UNFILLED
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.service_layer.peers.identity import peer_principal
from bibliomesh_ill.service_layer.peers.outbound import BorrowerTrail
from bibliomesh_ill.service_layer.steps import note_step
from meshkit.unit_of_work import UnitOfWork

ADDRESSED = "peer_request_received"
RECEIVED = "peer_message_received"


async def note_received(uow: UnitOfWork, request: IllRequest, agency: str, fingerprint: dict[str, Any],
                        party: Party, now: datetime) -> None:
    """Keep the fingerprint of a message from the peer that the broker accepted, in the trail of its request."""
    what = [part for part in fingerprint["what"].split("/") if part]
    note = " ".join(["ISO 18626", fingerprint["kind"], *what, "of", fingerprint["timestamp"], "from", agency])
    await note_step(uow.session, request, RECEIVED, actor=peer_principal(agency), party=party, now=now, note=note,
                    details=fingerprint)


async def note_addressed(uow: UnitOfWork, request: IllRequest, agency: str, addressed: str, now: datetime) -> None:
    """Keep the agency the peer's request named, in the trail of the request it became."""
    await note_step(uow.session, request, ADDRESSED, actor=peer_principal(agency), party=Party.BORROWER, now=now,
                    note=f"ISO 18626 request {request.peer_request_id} from {agency} to {addressed}",
                    details={"supplying_agency": addressed})


async def borrower_trail(uow: UnitOfWork, request_id: str, declined_by: str | None = None) -> BorrowerTrail:
    """The trail's facts for messages to the request's outside borrower; `declined_by`: the lender whose decline
    is being told."""
    steps = await RequestRepository(uow.session).steps(request_id)
    addressed = next(((s["details"] or {}).get("supplying_agency") for s in steps if s["step"] == ADDRESSED), None)
    return BorrowerTrail(addressed=addressed, rota_went_on=_went_on(steps, declined_by),
                         reason_unfilled=_only_reason(steps) or BorrowerTrail.reason_unfilled)


def _went_on(steps: list[dict[str, Any]], declined_by: str | None) -> bool:
    declined = [n for n, s in enumerate(steps) if s["step"] == "declined" and s["lender"] == declined_by]
    if not declined:
        return True
    # the decline and what followed (the next lender asked, or the end) are one transaction
    after = next((s["step"] for s in steps[declined[-1] + 1:] if s["step"] in ("routed", "unfilled")), "routed")
    return after == "routed"


def _only_reason(steps: list[dict[str, Any]]) -> str | None:
    """The reason every lender asked gave for declining, if they all declined with the same ISO code."""
    asked = sum(1 for s in steps if s["step"] == "routed")
    reasons = [s["reason"] for s in steps if s["step"] == "declined"]
    if not reasons or len(reasons) != asked or len(set(reasons)) != 1 or reasons[0] not in REASONS_UNFILLED:
        return None
    return str(reasons[0])
