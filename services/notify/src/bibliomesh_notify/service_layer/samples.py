"""A realistic context for every message kind, built by the same functions the consumer uses: checks an
institution's template before it is stored, and lets the tests render every template."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bibliomesh_contracts.events.catalog import ImportFinishedV1
from bibliomesh_contracts.events.ill import AcquisitionSuggestedV1, RequestStepV1
from bibliomesh_notify.domain.messages import DIGEST
from bibliomesh_notify.service_layer.context import (
    base_context,
    import_context,
    request_context,
    suggestion_context,
    webhook_disabled_context,
)

_CONTACTS: dict[str, dict[str, Any] | None] = {
    "CN-U1": {"code": "CN-U1", "name_en": "Dalian University Library", "name_zh": "大连大学图书馆"},
    "CN-PL": {"code": "CN-PL", "name_en": "Dalian Public Library", "name_zh": "大连市图书馆"},
}


def _step(kind: str) -> RequestStepV1:
    return RequestStepV1(request_id="r-1234", step=kind.split(".", 1)[1], borrower="CN-U1", lender="CN-PL",
                         patron_id="user:42", service_type="loan", service_level="rush",
                         title="The Dream of the Red Chamber <vol. 1>", requester_state="shipped",
                         supplier_state="shipped", reason="UnderReview", note="Handle with care & love",
                         due_date=date(2030, 3, 14), actor="system", occurred_at=datetime(2030, 2, 1, tzinfo=UTC))


def sample_context(kind: str, language: str) -> dict[str, Any]:
    """`language` is the directory's (`en`/`zh`)."""
    context = base_context("Li Hua" if language == "zh" else "Ada Reader",
                           "大连大学图书馆" if language == "zh" else "Dalian University Library")
    if kind == DIGEST:
        return {**context, "day": "2030-02-01",
                "items": [{"title": "“Title” is ready", "body": "It <arrived> & waits."}]}
    if kind == "admin.acquisition_suggested":
        return {**context, **suggestion_context(AcquisitionSuggestedV1(
            institution="CN-U1", item_key="isbn:9787020002207", title="红楼梦", request_count=3,
            request_ids=["r-1", "r-2", "r-3"], window_days=365, suggested_at=datetime(2030, 2, 1, tzinfo=UTC)))}
    if kind == "admin.import_finished":
        return {**context, **import_context(ImportFinishedV1(
            job_id="j-1", institution="CN-U1", status="failed", filename="records.mrc", records_read=1200, created=1100,
            updated=50, unchanged=40, rejected=10, failure="cancelled: the catalogue shut down during the import",
            started_by="user:1", finished_at=datetime(2030, 2, 1, tzinfo=UTC)))}
    if kind == "admin.webhook_disabled":
        return {**context, **webhook_disabled_context("https://ils.example.org/hooks", 15, "HTTP 503")}
    return {**context, **request_context(_step(kind), _CONTACTS, language)}
