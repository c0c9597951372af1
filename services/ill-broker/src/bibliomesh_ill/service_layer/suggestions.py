"""Demand-driven acquisition: when an institution's patrons ask for the same item through ILL often enough,
suggest that the institution buy it, with the requests as evidence."""

from __future__ import annotations

from datetime import datetime, timedelta

from bibliomesh_contracts.events.ill import AcquisitionSuggestedV1
from bibliomesh_ill.adapters.suggestion_repository import SuggestionRepository
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.settings import IllSettings
from meshkit.unit_of_work import UnitOfWork


async def count_demand(uow: UnitOfWork, request: IllRequest, settings: IllSettings, now: datetime) -> None:
    """Called for each new request; suggests (or updates the suggestion) once the threshold is reached."""
    if request.origin != "platform":
        return
    repository = SuggestionRepository(uow.session)
    threshold, window = await repository.threshold(request.borrower) or (
        settings.acquisition_threshold, settings.acquisition_window_days)
    evidence = await repository.demand(request.borrower, request.item_key, now - timedelta(days=window))
    if len(evidence) < threshold:
        return
    existed = await repository.exists(request.borrower, request.item_key)
    values = {"institution": request.borrower, "item_key": request.item_key, "title": request.title,
              "request_count": len(evidence), "request_ids": evidence, "suggested_at": now}
    await repository.upsert(values, existed)
    if not existed:
        uow.publish(AcquisitionSuggestedV1(**values, window_days=window),
                    aggregate_id=f"acquisition:{request.borrower}:{request.item_key}", aggregate_version=1,
                    institution=request.borrower)
