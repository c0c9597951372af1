"""Submitting a request: validate it, find who holds the item, refuse duplicates, build the rota, ask the first
lender. Submitted, validated and sourcing are audit steps of the same transaction, so a request is never seen
half-made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bibliomesh_ill.adapters.catalog_client import CatalogUnavailable, resolve_citation
from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.citations import identifiers_of, openurl_of
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.rota import Holding
from bibliomesh_ill.domain.states import RequesterState
from bibliomesh_ill.service_layer.routing import ask_next_lender, plan_rota
from bibliomesh_ill.service_layer.steps import record_step
from bibliomesh_ill.service_layer.suggestions import count_demand
from bibliomesh_ill.settings import IllSettings
from meshkit.dates import earliest_today
from meshkit.problems import Conflict, Forbidden, InvalidField, NotFound, Problem
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


@dataclass
class RequestInput:
    service_type: str
    cluster_id: int | None = None
    citation: dict[str, Any] = field(default_factory=dict)
    service_level: str = "normal"
    pickup_location: str | None = None
    needed_by: date | None = None
    max_cost: dict[str, Any] | None = None
    note: str | None = None
    patron_id: str | None = None
    borrower: str | None = None
    allow_duplicate: bool = False
    origin: str = "platform"
    peer_request_id: str | None = None
    only_lender: str | None = None   # an ISO 18626 peer addressed one platform library rather than the broker


@dataclass
class ItemMatch:
    item_key: str
    title: str
    cluster_id: int | None
    holdings: list[Holding]


def _borrower_and_patron(caller: Principal, given: RequestInput) -> tuple[str, str | None]:
    staff = caller.has_scope("ill:manage")
    borrower = given.borrower or caller.institution
    if borrower != caller.institution and not (caller.is_platform_admin or given.origin == "iso18626"):
        raise Forbidden(f"a token for {caller.institution} cannot request for {borrower}")
    if given.patron_id and given.patron_id != caller.subject and not staff:
        raise Forbidden("only library staff (`ill:manage`) may request on behalf of another patron")
    return borrower, given.patron_id or (None if staff else caller.subject)


async def find_item(uow: UnitOfWork, catalog_url: str, given: RequestInput) -> ItemMatch:
    """Who holds what the request asks for: a cluster, or a citation matched on identifiers, then by the
    catalogue's citation resolver. A citation whose identifiers are held in one cluster only is that cluster."""
    holdings = HoldingRepository(uow.session)
    citation = given.citation
    cited = citation.get("article_title") or citation.get("title") or citation.get("journal_title") or ""
    if given.cluster_id is not None:
        found = await holdings.matching(cluster_id=given.cluster_id)
        if not found:
            raise NotFound(f"the broker knows no holdings of cluster {given.cluster_id}")
        return await _cluster_item(holdings, given.cluster_id, found, cited)
    keys = identifiers_of(citation)
    if not (cited or keys):
        raise InvalidField("citation", "give a cluster_id, or a citation with a title or an ISBN, ISSN or OCLC "
                                       "number")
    if keys:
        found = await holdings.matching(identifiers=keys)
        clusters = {h.cluster_id for h in found}
        if len(clusters) == 1 and (cluster_id := next(iter(clusters))) is not None:
            return await _cluster_item(holdings, cluster_id, await holdings.matching(cluster_id=cluster_id), cited)
        if found:
            kind, value = sorted(keys)[0]
            return ItemMatch(f"{kind}:{value}", cited or value, None, found)
    try:
        matches = await resolve_citation(catalog_url, openurl_of(citation))
    except CatalogUnavailable as exc:
        matches = []
        if not keys:
            raise Problem(f"the catalogue cannot resolve the citation now ({exc}); try again or give an ISBN, "
                          "ISSN or OCLC number", status=503) from exc
    for match in matches:
        found = await holdings.matching(cluster_id=match.cluster_id)
        if found:
            return await _cluster_item(holdings, match.cluster_id, found, match.title or cited)
    key = sorted(keys)[0] if keys else ("title", cited.casefold()[:300])
    return ItemMatch(f"{key[0]}:{key[1]}", cited or key[1], None, [])


async def _cluster_item(holdings: HoldingRepository, cluster_id: int, found: list[Holding],
                        fallback: str) -> ItemMatch:
    """A request for a cluster, named by the title of its records in the broker's copy; for items copied before
    titles were carried, by `fallback` (what the citation or the catalogue calls it), else the words of the match
    key."""
    named = await holdings.title_of_cluster(cluster_id)
    title = named.title or fallback or named.key_words or f"cluster {cluster_id}"
    return ItemMatch(f"cluster:{cluster_id}", title, cluster_id, found)


async def _item_for(uow: UnitOfWork, settings: IllSettings, given: RequestInput) -> ItemMatch:
    if given.only_lender is None:
        return await find_item(uow, settings.catalog_url, given)
    # A peer that addressed one library knows it holds the item, even if the broker's copy does not.
    try:
        item = await find_item(uow, settings.catalog_url, given)
    except Problem:
        title = given.citation.get("title") or given.citation.get("article_title") or "(untitled)"
        item = ItemMatch(f"title:{title.casefold()[:300]}", title, given.cluster_id, [])
    item.holdings = [h for h in item.holdings if h.institution == given.only_lender] or [
        Holding(institution=given.only_lender, item_id="(as cited)", status="available", format="print",
                ill_copy_allowed=False)]
    return item


async def submit_request(uow: UnitOfWork, caller: Principal, given: RequestInput, settings: IllSettings,
                         now: datetime | None = None) -> IllRequest:
    now = now or datetime.now(UTC)
    borrower_code, patron_id = _borrower_and_patron(caller, given)
    borrower = await MemberRepository(uow.session).get(borrower_code)
    if borrower is None:
        raise Problem(f"the broker does not know {borrower_code} yet", status=422)
    if not borrower.active:
        raise Forbidden(f"{borrower_code} is suspended and cannot borrow")
    if given.pickup_location and borrower.pickup_locations and given.pickup_location not in \
            borrower.pickup_locations:
        raise InvalidField("pickup_location", f"not one of {borrower_code}'s pickup locations: "
                                              f"{', '.join(borrower.pickup_locations)}")
    if given.needed_by is not None and given.needed_by < earliest_today(now) and given.origin == "platform":
        raise InvalidField("needed_by", "is in the past")
    item = await _item_for(uow, settings, given)
    repository = RequestRepository(uow.session)
    if patron_id is not None:
        await repository.lock_patron(borrower_code, patron_id)
    duplicates = await repository.active_duplicates(borrower_code, patron_id, item.item_key)
    if duplicates and not (given.allow_duplicate and caller.has_scope("ill:manage")):
        raise Conflict(f"this patron already has an active request for the item: {', '.join(duplicates)}",
                       duplicates=duplicates)
    request = IllRequest(
        id=str(uuid.uuid4()), borrower=borrower_code, patron_id=patron_id, created_by=caller.subject,
        origin=given.origin, peer_request_id=given.peer_request_id, item_key=item.item_key,
        citation=given.citation, title=item.title[:500], cluster_id=item.cluster_id,
        service_type=given.service_type, service_level=given.service_level, pickup_location=given.pickup_location,
        needed_by=given.needed_by, max_cost=given.max_cost, note=given.note,
        requester_state=RequesterState.SUBMITTED, created_at=now, updated_at=now,
        duplicate_of=duplicates[0] if duplicates else None)
    await repository.add(request)
    party = Party.BORROWER if caller.has_scope("ill:manage") else Party.PATRON
    await record_step(uow, request, "submitted", actor=caller, party=party, now=now, note=given.note)
    request.set(requester_state=RequesterState.VALIDATED)
    await record_step(uow, request, "validated", actor="system", party=Party.SYSTEM, now=now)
    request.set(requester_state=RequesterState.SOURCING)
    rota = await plan_rota(uow, request, borrower, item.holdings, now)
    await record_step(uow, request, "sourcing", actor="system", party=Party.SYSTEM, now=now,
                      details={"placed": len(rota.entries), "skipped": len(rota.skipped)})
    await ask_next_lender(uow, request, now, just_planned=True)
    await count_demand(uow, request, settings, now)
    return request
